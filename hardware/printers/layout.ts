// A small printer-neutral layout, so the ESC/POS bytes and the SVG preview show the same content.

export type TextSize = 'normal' | 'tall' | 'large'

export type Block =
  | {
      readonly kind: 'text'
      readonly text: string
      readonly align?: 'left' | 'center' | 'right'
      readonly bold?: boolean
      readonly size?: TextSize
    }
  /** First cell takes the remaining width, left aligned; the others have fixed widths, right aligned. */
  | {
      readonly kind: 'row'
      readonly cells: readonly string[]
      readonly widths: readonly number[]
      readonly bold?: boolean
    }
  | { readonly kind: 'rule' }
  | { readonly kind: 'feed' }
  | { readonly kind: 'cut' }

export const sizeFactors: Record<TextSize, { width: number; height: number }> = {
  normal: { width: 1, height: 1 },
  tall: { width: 1, height: 2 },
  large: { width: 2, height: 2 },
}
