// A tiny typed EventTarget: DOM EventTarget (Node and browsers alike) with CustomEvent details typed per name.
export class TypedEvents<Map extends Record<string, unknown>> extends EventTarget {
  emit<K extends keyof Map & string>(type: K, detail: Map[K]): void {
    this.dispatchEvent(new CustomEvent(type, { detail }))
  }

  on<K extends keyof Map & string>(type: K, listener: (detail: Map[K]) => void): () => void {
    const wrapped = (event: Event) => listener((event as CustomEvent<Map[K]>).detail)
    this.addEventListener(type, wrapped)
    return () => this.removeEventListener(type, wrapped)
  }
}
