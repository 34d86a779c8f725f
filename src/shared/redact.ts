/** Remote URLs may embed tokens (`https://user:token@host`); never log or print them. */
export function redactUrls(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)([^/@\s:]+)(:[^/@\s]*)?@/gi, '$1***@');
}
