// APDU byte helpers shared by the virtual cards (card side) and the drivers (reader side).

export const SW_OK = 0x9000
/** ACR122U pseudo-APDU failure ("the operation failed"). */
export const SW_FAILED = 0x6300
export const SW_WRONG_LENGTH = 0x6700
export const SW_SECURITY_NOT_SATISFIED = 0x6982
export const SW_CONDITIONS_NOT_SATISFIED = 0x6985
export const SW_NO_CURRENT_EF = 0x6986
export const SW_FILE_NOT_FOUND = 0x6a82
export const SW_WRONG_P1P2 = 0x6b00
export const SW_INS_NOT_SUPPORTED = 0x6d00
export const SW_CLA_NOT_SUPPORTED = 0x6e00

/** AID of the Lakou signing applet: F0 "LAKOU" 01. */
export const SIGNING_AID = Uint8Array.of(0xf0, 0x4c, 0x41, 0x4b, 0x4f, 0x55, 0x01)
export const INS_GET_PUBLIC_KEY = 0x10
export const INS_SIGN = 0x20
/** CLA of the applet's proprietary commands. */
export const CLA_PROPRIETARY = 0x80
/** Domain separation prefix of every card signature (cross-team contract). */
export const CARD_SIG_PREFIX = new TextEncoder().encode('lakou/card-sig/v1')

/** ATR of an NTAG behind an ACR122U (PC/SC part 3 storage card); nfc-pcsc reports TAG_ISO_14443_3. */
export const ATR_ACR122U_NTAG = Uint8Array.of(
  0x3b,
  0x8f,
  0x80,
  0x01,
  0x80,
  0x4f,
  0x0c,
  0xa0,
  0x00,
  0x00,
  0x03,
  0x06,
  0x03,
  0x00,
  0x03,
  0x00,
  0x00,
  0x00,
  0x00,
  0x68,
)
/** ATR of an ISO 14443-4 type A card behind an ACR122U with no historical bytes (TCK = 01). */
export const ATR_ISO14443_4 = Uint8Array.of(0x3b, 0x80, 0x80, 0x01, 0x01)

export function statusWord(response: Uint8Array): number {
  if (response.length < 2) return -1
  return (response[response.length - 2]! << 8) | response[response.length - 1]!
}

export function responseData(response: Uint8Array): Uint8Array {
  return response.subarray(0, Math.max(0, response.length - 2))
}

export function withStatus(data: Uint8Array, sw: number): Uint8Array {
  const out = new Uint8Array(data.length + 2)
  out.set(data)
  out[data.length] = sw >> 8
  out[data.length + 1] = sw & 0xff
  return out
}

export const status = (sw: number): Uint8Array => Uint8Array.of(sw >> 8, sw & 0xff)

export const getUidApdu = (): Uint8Array => Uint8Array.of(0xff, 0xca, 0x00, 0x00, 0x00)
export const readBinaryApdu = (page: number, length: number): Uint8Array =>
  Uint8Array.of(0xff, 0xb0, 0x00, page, length)
export function updateBinaryApdu(page: number, data: Uint8Array): Uint8Array {
  const apdu = new Uint8Array(5 + data.length)
  apdu.set([0xff, 0xd6, 0x00, page, data.length])
  apdu.set(data, 5)
  return apdu
}
export function selectAidApdu(aid: Uint8Array): Uint8Array {
  const apdu = new Uint8Array(6 + aid.length)
  apdu.set([0x00, 0xa4, 0x04, 0x00, aid.length])
  apdu.set(aid, 5)
  apdu[5 + aid.length] = 0x00
  return apdu
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

export const toHex = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
export const fromHex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'))
