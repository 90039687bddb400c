// Fetches a package's tarball from the npm registry into a cache, checks it against the
// integrity hash the lockfile recorded (the registry's own sha512), and unpacks it. Foreign
// platforms' binaries never pass through the project's node_modules.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

/** The sha512 part of an SRI string ("sha512-<base64>", maybe among others), or undefined. */
function sha512Of(integrity) {
  return integrity
    ?.split(/\s+/)
    .find((part) => part.startsWith('sha512-'))
    ?.slice('sha512-'.length);
}

/** Whether the file's sha512 is the one in `integrity`. */
export function matchesIntegrity(file, integrity) {
  const want = sha512Of(integrity);
  if (!want) throw new Error(`no sha512 in the integrity "${integrity}"`);
  return createHash('sha512').update(readFileSync(file)).digest('base64') === want;
}

function npm(args, cwd) {
  const result = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', args, {
    cwd,
    encoding: 'utf8',
    shell: process.platform === 'win32',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw new Error(`npm ${args[0]} could not start: ${result.error.message}`);
  if (result.status !== 0)
    throw new Error(`npm ${args.join(' ')} failed: ${(result.stderr || result.stdout).trim().split('\n').slice(-3).join(' | ')}`);
  return result.stdout;
}

/** The registry's integrity for name@version (`npm view`), for a package the lockfile lacks. */
export function registryIntegrity(name, version, cwd) {
  return npm(['view', `${name}@${version}`, 'dist.integrity'], cwd).trim();
}

/**
 * The path of name@version's tarball in `cacheDir`, fetched with `npm pack` when missing. A cached
 * or fetched file whose sha512 is not `integrity` is deleted and the call throws.
 */
export function cachedTarball({ name, version, integrity, cacheDir, cwd }) {
  mkdirSync(cacheDir, { recursive: true });
  const file = path.join(cacheDir, `${name.replace('/', '+')}@${version}.tgz`);
  if (existsSync(file)) {
    if (matchesIntegrity(file, integrity)) return { file, fetched: false };
    rmSync(file, { force: true });
    throw new Error(
      `the cached ${path.basename(file)} did not match the registry's integrity and was deleted; run again to fetch it anew.`,
    );
  }
  const temp = mkdtempSync(path.join(cacheDir, '.fetch-'));
  try {
    npm(['pack', `${name}@${version}`, '--pack-destination', temp, '--silent'], cwd);
    const [packed] = readdirSync(temp).filter((f) => f.endsWith('.tgz'));
    if (!packed) throw new Error(`npm pack ${name}@${version} wrote no tarball.`);
    if (!matchesIntegrity(path.join(temp, packed), integrity)) {
      throw new Error(`the registry's tarball of ${name}@${version} does not match the integrity ${integrity}.`);
    }
    renameSync(path.join(temp, packed), file);
    return { file, fetched: true };
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

/** Parses a pax extended header's "len key=value\n" records. */
function paxRecords(buf) {
  const records = {};
  let at = 0;
  while (at < buf.length) {
    const space = buf.indexOf(0x20, at);
    if (space < 0) break;
    const len = Number(buf.subarray(at, space).toString());
    if (!Number.isInteger(len) || len <= 0) break;
    const record = buf.subarray(space + 1, at + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    records[record.slice(0, eq)] = record.slice(eq + 1);
    at += len;
  }
  return records;
}

const cString = (buf, start, len) => {
  const field = buf.subarray(start, start + len);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? len : end).toString('utf8');
};

/**
 * Unpacks an npm tarball (.tgz, every entry under "package/") into `dest`: regular files and
 * folders only; links, devices and paths that leave `dest` are refused.
 */
export function extractPackage(tgz, dest) {
  const tar = gunzipSync(readFileSync(tgz));
  const root = path.resolve(dest);
  let at = 0;
  let longName;
  while (at + 512 <= tar.length) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const size = parseInt(cString(header, 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156] || 0x30);
    const body = tar.subarray(at + 512, at + 512 + size);
    at += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      longName = paxRecords(body).path ?? longName;
      continue;
    }
    if (type === 'L') {
      longName = cString(body, 0, body.length);
      continue;
    }
    if (type === 'g') continue;
    const prefix = header.subarray(257, 262).toString() === 'ustar' ? cString(header, 345, 155) : '';
    const name = longName ?? (prefix ? `${prefix}/${cString(header, 0, 100)}` : cString(header, 0, 100));
    longName = undefined;
    const relative = name.replace(/^package\//, '');
    const target = path.resolve(root, relative);
    if (!name.startsWith('package/') || (target !== root && !target.startsWith(root + path.sep))) {
      throw new Error(`${path.basename(tgz)} has an entry outside its package folder: ${name}`);
    }
    if (type === '5') mkdirSync(target, { recursive: true });
    else if (type === '0' || type === '7') {
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, body);
    } else throw new Error(`${path.basename(tgz)} has an entry of tar type "${type}" (${name}); only files and folders are unpacked.`);
  }
}
