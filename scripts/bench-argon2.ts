// Times argon2id hashing with the parameters the API uses: `npm run bench:argon2 [-- 20]`.
import argon2 from 'argon2';
import { HASH_OPTIONS } from '../src/services/passwords';

async function main() {
  const runs = Number(process.argv[2] ?? 20);
  await argon2.hash('warm-up password', HASH_OPTIONS);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await argon2.hash(`benchmark password ${i}`, HASH_OPTIONS);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / runs;
  const median = times[Math.floor(runs / 2)]!;
  const { memoryCost, timeCost, parallelism } = HASH_OPTIONS;
  console.log(
    `argon2id m=${memoryCost} KiB t=${timeCost} p=${parallelism}: ${runs} hashes, ` +
      `mean ${mean.toFixed(1)} ms, median ${median.toFixed(1)} ms`,
  );
}

main().catch((err: Error) => {
  console.error(`bench-argon2 failed: ${err.message}`);
  process.exit(1);
});
