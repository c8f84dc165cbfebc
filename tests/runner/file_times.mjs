// file_times.mjs -- a node:test reporter that writes, when the run ends, one JSON line per test file: the time its
// top-level tests took (each measured in the file's own process; a hook outside every describe is not counted) and
// how many passed and failed. tests/runner/passes.mjs reads it to print the slowest files.
export default async function* fileTimes(source) {
  const files = new Map();
  for await (const ev of source) {
    if ((ev.type !== 'test:pass' && ev.type !== 'test:fail') || ev.data.nesting !== 0 || !ev.data.file) continue;
    let f = files.get(ev.data.file);
    if (!f) files.set(ev.data.file, (f = { ms: 0, tests: 0, failed: 0 }));
    f.ms += ev.data.details?.duration_ms || 0;
    f.tests += 1;
    if (ev.type === 'test:fail') f.failed += 1;
  }
  for (const [file, f] of files) yield JSON.stringify({ file, ...f }) + '\n';
}
