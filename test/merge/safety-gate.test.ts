import { describe, expect, it } from 'vitest';
import { safetyGate } from '../../src/merge/safety-gate.js';

describe('safety gate', () => {
  const base = 'one two three\nfour five\n';
  const local = 'one TWO three\nfour five\n';
  const remote = 'one two three\nfour five six\n';

  it("passes a result with both sides' changes", () => {
    expect(safetyGate({ base, local, remote, result: 'one TWO three\nfour five six\n' })).toBeNull();
  });

  it('fails a result that drops a word a side added', () => {
    expect(safetyGate({ base, local, remote, result: 'one TWO three\nfour five\n' })).toMatch(/remote/);
  });

  it('fails a result that keeps a word a side deleted', () => {
    expect(safetyGate({ base, local, remote, result: 'one TWO two three\nfour five six\n' })).toMatch(/local/);
  });

  it('fails a result with a conflict marker no input had', () => {
    expect(safetyGate({ base, local, remote, result: '<<<<<<< ours\none TWO three\nfour five six\n' })).toMatch(/marker/);
  });
});
