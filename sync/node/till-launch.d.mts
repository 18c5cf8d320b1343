// Types of till-launch.mjs (plain JS: scripts/lakou.mjs loads it before tsx).
export declare const TILL_NODE_FLAGS: string[]
export declare const TILL_ENV: Record<string, string>
export declare function tillEnv(base?: NodeJS.ProcessEnv): NodeJS.ProcessEnv
export declare function launchedAsTill(env?: NodeJS.ProcessEnv): boolean
export declare function relaunchAsTill(argv?: string[]): Promise<number>
export declare function stopWithLauncher(): void
