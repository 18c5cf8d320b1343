// `npm run bench -- festival [--json out.json] [--tills 50] [--records 200000] [--seconds 60] [--seed 1]`
// The benchmark lives in bench/festival/ (see its README): tills are separate OS processes copied from a
// seeded history template, live sales with seeded partitions, heal, then digests, catch-up and cold start.
export { run } from './festival/bench.ts'
