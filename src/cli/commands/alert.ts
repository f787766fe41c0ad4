// SPDX-License-Identifier: Apache-2.0
/** `riposte alert send FILE [--url URL]` — posts a Falco alert (or an array) from a file ('-' for stdin). */
import { readFile } from 'node:fs/promises';
import { clientIngestToken, configFromFlags, parse } from '../options.ts';

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { url: { type: 'string' } });
  const [sub, file] = positionals;
  if (sub !== 'send' || !file) {
    process.stderr.write('usage: riposte alert send FILE [--url http://127.0.0.1:8080] [--config FILE]\n');
    return 2;
  }
  const loaded = await configFromFlags(values);
  const base = values.url ?? loaded.config.server.publicUrl ?? `http://${loaded.config.server.host === '0.0.0.0' ? '127.0.0.1' : loaded.config.server.host}:${loaded.config.server.port}`;
  const body = file === '-' ? await new Response(process.stdin as unknown as ReadableStream).text() : await readFile(file, 'utf8');
  const token = await clientIngestToken(loaded);
  const res = await fetch(new URL('/v1/alerts', base), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
  }).catch((err: Error) => {
    throw new Error(`cannot reach ${base}: ${(err.cause as Error | undefined)?.message ?? err.message}`);
  });
  const text = await res.text();
  if (res.status === 202) {
    const r = JSON.parse(text) as { accepted: number; ids: string[] };
    process.stdout.write(values.json ? `${text}\n` : `accepted ${r.accepted} alert(s): ${r.ids.join(', ')}\n`);
    return 0;
  }
  process.stderr.write(`riposte: ${res.status} ${text}\n`);
  return 1;
}
