// The cart of the open till: product id -> quantity (negative for deposit returns).
import type { ProductView } from '../../shared/protocol.ts'
import { app } from './store.svelte.ts'

class Cart {
  lines = $state<{ productId: string; qty: number }[]>([])

  get products(): ProductView[] {
    return app.snapshot?.products ?? []
  }

  add(productId: string, qty = 1): void {
    const line = this.lines.find((l) => l.productId === productId && Math.sign(l.qty) === Math.sign(qty))
    if (line) line.qty += qty
    else this.lines.push({ productId, qty })
    this.lines = this.lines.filter((l) => l.qty !== 0)
  }

  remove(index: number): void {
    this.lines.splice(index, 1)
  }

  clear(): void {
    this.lines = []
  }

  product(id: string): ProductView | undefined {
    return this.products.find((p) => p.id === id)
  }

  /** Total in minor units; integers only. */
  get total(): number {
    return this.lines.reduce((sum, l) => sum + (this.product(l.productId)?.price ?? 0) * l.qty, 0)
  }

  get asset(): string {
    return this.product(this.lines[0]?.productId ?? '')?.asset ?? 'EUR'
  }
}

export const cart = new Cart()
