// Reading a ticket QR code from camera pixels when the browser has no BarcodeDetector (jsQR fallback).
import jsQR from 'jsqr'

export function decodeQr(rgba: Uint8ClampedArray, width: number, height: number): string | undefined {
  return jsQR(rgba, width, height, { inversionAttempts: 'attemptBoth' })?.data
}
