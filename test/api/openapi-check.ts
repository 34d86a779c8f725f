/**
 * Checks real answers against the daemon's own OpenAPI document (fetched from it), so a
 * route that drifts from its description fails a test.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { expect } from 'vitest';
import type { Answer, Json } from './harness.js';

export function openapiChecker(doc: Json) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const cache = new Map<string, ReturnType<typeof ajv.compile>>();
  let checked = 0;
  return {
    /** `path` as in the document (`/api/v1/workspaces/{id}/status`). */
    check(path: string, method: string, a: Answer): void {
      const op = doc.paths[path]?.[method.toLowerCase()];
      expect(op, `${method} ${path} is in the document`).toBeTruthy();
      const resp = op.responses[String(a.status)];
      expect(resp, `${method} ${path} documents status ${a.status}: ${a.text.slice(0, 200)}`).toBeTruthy();
      const schema = resp.content?.['application/json']?.schema;
      expect(schema, `${method} ${path} ${a.status} has a JSON schema`).toBeTruthy();
      const key = `${method} ${path} ${a.status}`;
      let validate = cache.get(key);
      if (!validate) {
        validate = ajv.compile({ ...schema, components: doc.components });
        cache.set(key, validate);
      }
      const ok = validate(a.json);
      expect(ok, `${key}: ${JSON.stringify(validate.errors)} in ${a.text.slice(0, 500)}`).toBe(true);
      checked++;
    },
    count: () => checked,
  };
}
