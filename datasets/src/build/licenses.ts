// datasets/LICENSES.md: one section per shipped file group, with the notices the licences ask for.
import { DEB_CATALOGUES, DEB_FORTUNES, DEB_PROSE, NPM_SOURCES, NPM_TOOLS } from './sources.js';

const WORDNET_NOTICE = `This software and database is being provided to you, the LICENSEE, by
Princeton University under the following license.  By obtaining, using
and/or copying this software and database, you agree that you have
read, understood, and will comply with these terms and conditions.:

Permission to use, copy, modify and distribute this software and
database and its documentation for any purpose and without fee or
royalty is hereby granted, provided that you agree to comply with
the following copyright notice and statements, including the disclaimer,
and that the same appear on ALL copies of the software, database and
documentation, including modifications that you make for internal
use or for distribution.

WordNet 3.1 Copyright 2011 by Princeton University.  All rights reserved.

THIS SOFTWARE AND DATABASE IS PROVIDED "AS IS" AND PRINCETON
UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES, EXPRESS OR
IMPLIED.  BY WAY OF EXAMPLE, BUT NOT LIMITATION, PRINCETON
UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES OF MERCHANT-
ABILITY OR FITNESS FOR ANY PARTICULAR PURPOSE OR THAT THE USE
OF THE LICENSED SOFTWARE, DATABASE OR DOCUMENTATION WILL NOT
INFRINGE ANY THIRD PARTY PATENTS, COPYRIGHTS, TRADEMARKS OR
OTHER RIGHTS.

The name of Princeton University or Princeton may not be used in
advertising or publicity pertaining to distribution of the software
and/or database.  Title to copyright in this software, database and
any associated documentation shall at all times remain with
Princeton University and LICENSEE agrees to preserve same.`;

const PROSE_LICENCE: Record<string, string> = {
  'dict-gcide': 'GPL-3.0-or-later (GNU Collaborative International Dictionary of English; Webster 1913 text is public domain)',
  anarchism: 'GPL-2.0 (An Anarchist FAQ, Iain McKay et al.)',
  'sword-text-web': 'public domain (World English Bible; "World English Bible" is a trademark of eBible.org: the text is reformatted here, so it is not called that)',
  'dict-foldoc': 'GFDL-1.1-or-later, no invariant sections (Free On-line Dictionary of Computing, Denis Howe)',
  'gimp-help-en': 'GFDL-1.2-or-later, no invariant sections (GIMP Documentation Team; copyright file in gimp-help-common)',
  'dict-jargon': 'public domain (The Jargon File 4.4.7)',
  'debian-handbook': 'GPL-2.0-or-later or CC-BY-SA-3.0 (Raphaël Hertzog, Roland Mas)',
  'gnome-user-docs': 'CC-BY-SA-3.0 (GNOME Documentation Project)',
  'debian-policy': 'GPL-2.0-or-later (Debian Policy Manual)',
  'debian-reference-en': 'GPL-2.0-or-later (Osamu Aoki)',
  'developers-reference': 'GPL-2.0 (Debian Developer\'s Reference authors)',
};

export function licensesMarkdown(): string {
  return `# Licences of the shipped datasets

The code that builds these files is part of tunebench. The *data* keeps the licence of its
source package, listed here per dataset. Versions are pinned in \`src/build/sources.ts\`.

## pretrain_en/, wn_topic/, ner_en/ (text), resources/wordnet_synonyms.json — WordNet 3.1
Source: \`${NPM_SOURCES.wordnet}\` (npm; its package.json says MIT, the database itself is under
the WordNet 3.1 licence below, which asks that this notice appear on all copies).

\`\`\`
${WORDNET_NOTICE}
\`\`\`

## pretrain_en/, pretrain_en_full/ (fortunes) — Debian \`${DEB_FORTUNES[0]}\`
BSD-style licence (see /usr/share/doc/fortunes/copyright in the package). The offensive
collection (\`fortunes-off\`) is not used.

## pretrain_en/, pretrain_en_full/ (prose) — Debian packages
pretrain_en_full is not committed (it is rebuilt from these pins); the committed pretrain_en is a
sample of it and carries text of every package below, each under its package's licence (see
/usr/share/doc/<package>/copyright in each .deb). The copyleft licences (GPL, GFDL, CC-BY-SA) apply
to the corpus files as a whole: keep this section with any copy.
${DEB_PROSE.map((s) => `- \`${s}\`: ${PROSE_LICENCE[s.slice(0, s.indexOf('='))] ?? 'see its copyright file'}`).join('\n')}

## ner_en/ (gazetteer names) — ${NPM_SOURCES.femaleNames}, ${NPM_SOURCES.maleNames}, ${NPM_SOURCES.usStates}
Data: PDDL-1.0 / CC0-1.0 as declared by the stdlib packages (code Apache-2.0). The names are
used only to produce silver tags; the tagged text is WordNet's.

## email/ — ${NPM_SOURCES.spam}
The SpamAssassin public corpus as packaged by stdlib: data PDDL-1.0, message contents CC0-1.0
(code Apache-2.0). The messages are real 2002-era mail: addresses appear in some bodies.

## zh_poetry/, zh_pretrain/ (poems) — ${NPM_SOURCES.poetry}
MIT licence (chinese-poetry project). The poems are in the public domain by age.
Conversion to simplified characters with ${NPM_TOOLS.opencc} (MIT and Apache-2.0; only used at build time).

## zh_pretrain/ (fortunes-zh) — Debian \`${DEB_FORTUNES[1]}\`
**GPL-3.0-or-later.** zh_pretrain/corpus.jsonl contains text from this package and is therefore
distributed under the GPL-3.0-or-later as well; keep this notice and the source reference.

## en_zh_pairs/, zh_pretrain/ (UI strings) — zh_CN gettext catalogues from Debian
${DEB_CATALOGUES.map((s) => `- \`${s}\``).join('\n')}

Each translation is under its package's licence: GPL-2.0+ or GPL-3.0+ (gcc, util-linux,
coreutils, gnupg, gettext, binutils, tar, grep), LGPL-2.1+ (glibc libc-l10n, iso-codes),
MPL-2.0 (LibreOffice). Copyright: the respective translation teams (Chinese (simplified)
translators of the Translation Project, LibreOffice and Debian contributors).

## changelog_urgency/ — Debian changelog.Debian.gz files
From the packages listed in \`src/build/changelog-packages.txt\`. Each changelog is part of
its package and under that package's DFSG-free licence (see each package's copyright file);
entries are short factual records by Debian maintainers.

## Build tools
${NPM_TOOLS.mime} (MIT-0) parses MIME at build time; nothing of it is shipped.
`;
}
