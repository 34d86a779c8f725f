import { describe, expect, it } from 'vitest';
import { DEFAULT_MERGE_RULES } from '../../src/shared/config.js';
import { strategyFor } from '../../src/merge/index.js';

describe('strategyFor (DESIGN.md section 13 defaults)', () => {
  it.each([
    ['settings.json', 'json'],
    ['.obsidian/app.json', 'json'],
    ['a/b/c.jsonc', 'json'],
    ['logs/app.log', 'union'],
    ['data/events.jsonl', 'union'],
    ['CHANGELOG.md', 'union'],
    ['History.md', 'union'],
    ['docs/HISTORY.txt', 'union'],
    ['notes/readme.md', 'text'],
    ['.env', 'text'],
  ])('%s → %s', (path, strategy) => {
    expect(strategyFor(path, DEFAULT_MERGE_RULES)).toBe(strategy);
  });

  it('first matching rule wins; a glob with "/" matches the full path, one without matches the basename', () => {
    const rules = [
      { glob: 'counters/*.md', strategy: 'text-newest' as const },
      { glob: '*.md', strategy: 'text' as const },
    ];
    expect(strategyFor('counters/visits.md', rules)).toBe('text-newest');
    expect(strategyFor('notes/counters/visits.md', rules)).toBe('text');
    expect(strategyFor('deep/notes/a.md', rules)).toBe('text');
  });

  it("no rule matches: copy (today's behaviour)", () => {
    expect(strategyFor('photo.png', [{ glob: '*.md', strategy: 'text' }])).toBe('copy');
  });
});
