// Fetches the pinned sources into a work folder: npm packages with a throw-away
// `npm install --prefix`, Debian packages with `apt-get download` + `dpkg -x` (never installed).
// A folder that already holds the same pins is reused, so repeated builds skip the download.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { cmp, sha256Hex } from '../text.js';
import { DEB_SHA256 } from './sources.js';

export function log(msg: string): void {
  process.stderr.write(`[datasets] ${msg}\n`);
}

function run(cmd: string, args: string[], cwd: string): void {
  try {
    execFileSync(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 << 20 });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`${cmd} ${args.slice(0, 6).join(' ')}${args.length > 6 ? ' …' : ''} failed in ${cwd}: ${err.stderr?.toString().trim() || err.message}`);
  }
}

function pinned(dir: string, specs: string[]): boolean {
  const marker = join(dir, '.pins');
  return existsSync(marker) && readFileSync(marker, 'utf8') === specs.join('\n');
}

/** Installs npm packages into <work>/npm and returns a require() rooted there. */
export function fetchNpm(work: string, specs: string[]): NodeJS.Require {
  const dir = join(work, 'npm');
  if (specs.length === 0) return createRequire(join(dir, 'package.json'));
  if (!pinned(dir, specs)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), '{"name":"tunebench-dataset-sources","private":true}\n');
    log(`npm install ${specs.join(' ')} (into ${dir})`);
    run('npm', ['install', '--prefix', dir, '--ignore-scripts', '--no-audit', '--no-fund', '--no-save',
      '--loglevel=error', ...specs], dir);
    writeFileSync(join(dir, '.pins'), specs.join('\n'));
  } else log(`npm sources already in ${dir}`);
  return createRequire(join(dir, 'package.json'));
}

export function npmDir(work: string, pkg: string): string {
  return join(work, 'npm', 'node_modules', pkg);
}

/** Downloads Debian packages (name=version) into <work>/deb/<group> and unpacks each into
 * <work>/deb/<group>/<name>/. Returns name → unpacked root. */
export function fetchDebs(work: string, group: string, specs: string[]): Map<string, string> {
  const dir = join(work, 'deb', group);
  const roots = new Map<string, string>();
  for (const s of specs) roots.set(s.slice(0, s.indexOf('=')), join(dir, s.slice(0, s.indexOf('='))));
  if (pinned(dir, specs)) {
    log(`Debian ${group}: ${specs.length} packages already in ${dir}`);
    return roots;
  }
  mkdirSync(dir, { recursive: true });
  log(`apt-get download: ${specs.length} ${group} packages into ${dir}`);
  for (let i = 0; i < specs.length; i += 60) run('apt-get', ['download', '-q', ...specs.slice(i, i + 60)], dir);
  const debs = readdirSync(dir).filter((f) => f.endsWith('.deb')).sort(cmp);
  for (const s of specs) {
    const name = s.slice(0, s.indexOf('='));
    const root = roots.get(name)!;
    const deb = debs.find((f) => f.startsWith(`${name}_`));
    if (!deb) throw new Error(`apt-get download gave no .deb for ${name} in ${dir}`);
    const want = DEB_SHA256[s];
    if (want) {
      const got = sha256Hex(readFileSync(join(dir, deb)));
      if (got !== want) throw new Error(`${join(dir, deb)}: sha256 ${got} differs from the pinned ${want} (src/build/sources.ts DEB_SHA256)`);
    }
    mkdirSync(root, { recursive: true });
    run('dpkg', ['-x', deb, root], dir);
  }
  writeFileSync(join(dir, '.pins'), specs.join('\n'));
  log(`Debian ${group}: unpacked ${roots.size} packages`);
  return roots;
}
