// Decodes an ESC/POS byte stream into what a printer would print: used by the fake printer in tests
// and handy to debug a real job. Written independently of the encoder, from the ESC/POS command list.

export interface DecodedSegment {
  readonly text: string
  readonly bold: boolean
  readonly width: number
  readonly height: number
}

export interface DecodedLine {
  readonly text: string
  readonly segments: readonly DecodedSegment[]
  /** True when any non-blank segment of the line is bold. */
  readonly bold: boolean
  /** Largest character size on the line. */
  readonly width: number
  readonly height: number
}

/** What came out between two cuts. */
export interface DecodedPage {
  readonly lines: readonly DecodedLine[]
  readonly cut: boolean
  /** ESC t code page numbers selected while printing this page. */
  readonly codepages: readonly number[]
}

export interface DecodedStream {
  readonly pages: readonly DecodedPage[]
  /** DLE EOT n real-time status requests seen (n values). */
  readonly statusRequests: readonly number[]
  /** Command bytes this decoder does not know (printed nothing). */
  readonly unknown: readonly number[]
}

// Upper halves (0x80..0xFF). cp858 is cp850 with the euro sign at 0xD5.
const cp850High =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜø£Ø×ƒáíóúñÑªº¿®¬½¼¡«»░▒▓│┤ÁÂÀ©╣║╗╝¢¥┐└┴┬├─┼ãÃ╚╔╩╦╠═╬¤ðÐÊËÈıÍÎÏ┘┌█▄¦Ì▀ÓßÔÒõÕµþÞÚÛÙýÝ¯´\u00ad±‗¾¶§÷¸°¨·¹³²■\u00a0'
const cp437High =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0'
// windows-1252 is Latin-1 except 0x80..0x9F (written out: Node's small-ICU TextDecoder maps it as Latin-1).
const cp1252Low = '€\ufffd‚ƒ„…†‡ˆ‰Š‹Œ\ufffdŽ\ufffd\ufffd‘’“”•–—˜™š›œ\ufffdžŸ'

/** Epson ESC t numbering of the code pages this decoder reads. */
export const epsonCodepages: Readonly<Record<number, string>> = {
  0: 'cp437',
  2: 'cp850',
  16: 'windows1252',
  19: 'cp858',
}

function decodeByte(byte: number, codepage: number): string {
  if (byte < 0x80) return String.fromCharCode(byte)
  switch (codepage) {
    case 0:
      return cp437High[byte - 0x80] ?? '?'
    case 2:
      return cp850High[byte - 0x80] ?? '?'
    case 19:
      return byte === 0xd5 ? '€' : (cp850High[byte - 0x80] ?? '?')
    case 16:
      return byte < 0xa0 ? (cp1252Low[byte - 0x80] ?? '?') : String.fromCharCode(byte)
    default:
      return '\ufffd'
  }
}

const ESC = 0x1b
const GS = 0x1d
const FS = 0x1c
const DLE = 0x10

export function decodeEscPos(bytes: Uint8Array): DecodedStream {
  const pages: DecodedPage[] = []
  const statusRequests: number[] = []
  const unknown: number[] = []
  let lines: DecodedLine[] = []
  let segments: DecodedSegment[] = []
  let codepages: number[] = []
  let codepage = 0
  let bold = false
  let width = 1
  let height = 1
  let current = ''

  const flushSegment = () => {
    if (current) segments.push({ text: current, bold, width, height })
    current = ''
  }
  const flushLine = () => {
    flushSegment()
    const printed = segments.filter((s) => s.text.trim() !== '')
    lines.push({
      text: segments.map((s) => s.text).join(''),
      segments,
      bold: printed.some((s) => s.bold),
      width: Math.max(1, ...printed.map((s) => s.width)),
      height: Math.max(1, ...printed.map((s) => s.height)),
    })
    segments = []
  }
  const endPage = (cut: boolean) => {
    if (current || segments.length) flushLine()
    // Feed lines before a cut are paper, not content.
    while (lines.length && lines.at(-1)?.text.trim() === '') lines.pop()
    if (lines.length || cut) pages.push({ lines, cut, codepages })
    lines = []
    codepages = []
  }
  const setStyle = (apply: () => void) => {
    flushSegment()
    apply()
  }

  let i = 0
  const arg = (offset: number) => bytes[i + offset] ?? 0
  while (i < bytes.length) {
    const byte = bytes[i] as number
    if (byte === 0x0a) {
      flushLine()
      i += 1
    } else if (byte === 0x0d) {
      i += 1
    } else if (byte === DLE && arg(1) === 0x04) {
      statusRequests.push(arg(2))
      i += 3
    } else if (byte === ESC) {
      const command = arg(1)
      if (command === 0x40) {
        setStyle(() => {
          bold = false
          width = 1
          height = 1
          codepage = 0
        })
        i += 2
      } else if (command === 0x45) {
        setStyle(() => {
          bold = (arg(2) & 1) === 1
        })
        i += 3
      } else if (command === 0x74) {
        codepage = arg(2)
        codepages.push(codepage)
        i += 3
      } else if (command === 0x21) {
        setStyle(() => {
          bold = (arg(2) & 0x08) !== 0
          height = arg(2) & 0x10 ? 2 : 1
          width = arg(2) & 0x20 ? 2 : 1
        })
        i += 3
      } else if (command === 0x64 || command === 0x4a) {
        // Feed n lines / n dots: blank paper.
        i += 3
      } else if ([0x4d, 0x61, 0x2d, 0x33, 0x7b, 0x47, 0x52, 0x34, 0x56, 0x20, 0x72].includes(command)) {
        // Font, justification, underline, line spacing, upside down, double strike, charset, italic,
        // rotation, right spacing, colour: do not change the text.
        i += 3
      } else if (command === 0x32) {
        i += 2
      } else {
        unknown.push(ESC, command)
        i += 2
      }
    } else if (byte === GS) {
      const command = arg(1)
      if (command === 0x21) {
        setStyle(() => {
          width = ((arg(2) >> 4) & 0x07) + 1
          height = (arg(2) & 0x07) + 1
        })
        i += 3
      } else if (command === 0x56) {
        // GS V m [n]: m 65/66 take a feed argument.
        i += arg(2) === 65 || arg(2) === 66 ? 4 : 3
        endPage(true)
      } else if (command === 0x28) {
        // GS ( fn pL pH ...: length-prefixed function (QR codes etc.).
        i += 5 + arg(3) + arg(4) * 256
      } else if ([0x42, 0x62, 0x48, 0x66, 0x68, 0x77].includes(command)) {
        i += 3
      } else if (command === 0x4c || command === 0x57) {
        i += 4
      } else {
        unknown.push(GS, command)
        i += 2
      }
    } else if (byte === FS) {
      // FS . cancels Kanji mode; FS & selects it. Neither prints.
      i += 2
    } else if (byte < 0x20) {
      unknown.push(byte)
      i += 1
    } else {
      current += decodeByte(byte, codepage)
      i += 1
    }
  }
  endPage(false)
  return { pages, statusRequests, unknown }
}
