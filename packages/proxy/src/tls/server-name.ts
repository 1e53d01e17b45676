/**
 * Envoy's server_names matching for filter chains: an exact name, or `*.example.com` standing for
 * one or more labels in front of `example.com` (never `example.com` itself). Case-insensitive; a
 * trailing dot on the SNI is ignored. `*` alone matches any name.
 */
export function matchServerName(pattern: string, sni: string | undefined): boolean {
  if (!sni) return false;
  const name = sni.toLowerCase().replace(/\.$/, '');
  const p = pattern.toLowerCase().replace(/\.$/, '');
  if (name === '') return false;
  if (p === '*') return true;
  if (p.startsWith('*.')) {
    const suffix = p.slice(1); // ".example.com"
    return name.length > suffix.length && name.endsWith(suffix);
  }
  return name === p;
}
