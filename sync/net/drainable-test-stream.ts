// Test helper: the drain half of a libp2p stream, as libp2p (@libp2p/utils 7) behaves. onDrain() resolves
// at the first drain and then stays resolved, so a caller that re-arms on it spins; 'drain' events fire at
// every drain. Tests extend it with the send/close they need.
export class DrainableTestStream extends EventTarget {
  writableNeedsDrain = false
  onDrainCalls = 0
  #drained: ReturnType<typeof Promise.withResolvers<void>> | undefined

  onDrain(): Promise<void> {
    this.onDrainCalls++
    // A runaway caller would spin forever on an at-once resolution: stop answering it (the test then fails).
    if (this.onDrainCalls > 1000) return new Promise<void>(() => {})
    if (!this.writableNeedsDrain) return Promise.resolve()
    this.#drained ??= Promise.withResolvers<void>()
    return this.#drained.promise
  }

  drain(): void {
    this.writableNeedsDrain = false
    this.#drained?.resolve()
    this.dispatchEvent(new Event('drain'))
  }
}
