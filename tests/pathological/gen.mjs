#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// Generators of pathological Markdown pages: inputs that make a naive parser super-linear. Each
// class builds a page from a repeat count n; pageOfSize() picks the largest n whose page fits a
// byte budget, so that the suites can ask for "about B bytes" of any class.
//
// Usage: node gen.mjs --list                      one "NAME  description" line per class
//        node gen.mjs CLASS BYTES [FILE]          a page of CLASS of at most BYTES bytes
// Exit status: 0, or 2 for bad usage.

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const rep = (s, n) => s.repeat(n);
const lines = (n, f) => Array.from({ length: n }, (_, i) => f(i)).join('');

// name -> [description, make(n), size]. size is the bytes the linearity test uses for the smaller
// of its two pages: small enough that the md4c-based binary finishes the larger page in about a
// second under callgrind, large enough that fixed costs do not hide the growth.
export const CLASSES = {
    /* The cases found against md4c 0.4.8. */
    'brackets-refdef': ['"[" x n, "]" x n, and one link reference definition',
        (n) => rep('[', n) + rep(']', n) + '\n\n[a]: /u\n', 3000],
    'www-underscore': ['"www._" x n (extended autolinks)', (n) => rep('www._', n), 8000],
    'list-blank-lines': ['empty lines inside deeply nested lists: "- " x n, "x", newline x n',
        (n) => rep('- ', n) + 'x' + rep('\n', n), 8000],
    'blockquote-list-blank-lines': ['the same in a block quote: "> ", "- " x n, "x", "\\n>" x n',
        (n) => '> ' + rep('- ', n) + 'x' + rep('\n>', n) + '\n', 8000],
    'link-paren-newline': ['"](["  and a newline, x n', (n) => rep(']([\n', n), 8000],
    'autolinks-url': ['many URL autolinks in one paragraph', (n) => rep('http://a.bc/d ', n),
        32000],
    'autolinks-www': ['many www autolinks in one paragraph', (n) => rep('www.a.bc/d ', n), 32000],
    'autolinks-email': ['many e-mail autolinks in one paragraph', (n) => rep('a@b.cd ', n), 32000],
    'autolinks-angle': ['many <...> autolinks in one paragraph',
        (n) => rep('<http://a.bc/d> ', n), 32000],

    /* cmark's and md4c's own pathological classes. */
    'nested-brackets': ['"[" x n, "a", "]" x n', (n) => rep('[', n) + 'a' + rep(']', n), 32000],
    'nested-strong-emph': ['"*a **a " x n, "b", " a** a*" x n',
        (n) => rep('*a **a ', n) + 'b' + rep(' a** a*', n), 32000],
    'emph-closers-no-openers': ['"a_ " x n', (n) => rep('a_ ', n), 32000],
    'emph-openers-no-closers': ['"_a " x n', (n) => rep('_a ', n), 32000],
    'mismatched-emph': ['"*a_ " x n', (n) => rep('*a_ ', n), 32000],
    'emph-multiple-of-3': ['"a**b" then "c* " x n', (n) => 'a**b' + rep('c* ', n), 32000],
    'link-closers-no-openers': ['"a]" x n', (n) => rep('a]', n), 32000],
    'link-openers-no-closers': ['"[a" x n', (n) => rep('[a', n), 32000],
    'link-openers-emph-closers': ['"[ a_" x n', (n) => rep('[ a_', n), 32000],
    'bracket-paren': ['"[ (](" x n', (n) => rep('[ (](', n), 32000],
    'image-brackets': ['"![[]()" x n', (n) => rep('![[]()', n), 32000],
    'unclosed-links-angle': ['"[a](<b" x n', (n) => rep('[a](<b', n), 32000],
    'unclosed-links': ['"[a](b" x n', (n) => rep('[a](b', n), 32000],
    'unclosed-link-titles': ['"[a](b \\"c" x n', (n) => rep('[a](b "c', n), 32000],
    'many-refdefs': ['n link reference definitions, then n references',
        (n) => lines(n, (i) => `[r${i}]: /u${i}\n`) + '\n' + lines(n, (i) => `[r${i}] `), 32000],
    'refdef-collisions': ['n definitions of one label, then n references',
        (n) => rep('[a]: /u\n', n) + '\n' + rep('[a] ', n), 32000],
    'nested-blockquotes': ['">" x n, "a"', (n) => rep('>', n) + 'a\n', 32000],
    'nested-lists': ['n list items, each indented one level deeper',
        (n) => lines(n, (i) => rep('  ', i) + '* a\n'), 32000],
    'nested-ordered-lists': ['"1. " x n, "a"', (n) => rep('1. ', n) + 'a\n', 32000],
    'backticks': ['"e" then 1, 2, ... n backticks', (n) => lines(n, (i) => 'e' + rep('`', i + 1)),
        32000],
    'code-span-openers': ['"`a``b" x n: runs that never close', (n) => rep('`a``b', n), 32000],
    'backslashes': ['"x", "\\" x n, "x"', (n) => 'x' + rep('\\', n) + 'x', 32000],
    'entities': ['named, decimal, hex and unknown character references',
        (n) => rep('&amp;&#123;&#x1F600;&nbsp;&bogus; ', n), 32000],
    'html-openers-closers': ['"<>" x n', (n) => rep('<>', n), 32000],
    'html-proc-inst': ['"x <?" x n', (n) => rep('x <?', n), 32000],
    'html-cdata': ['"x <![CDATA[" x n', (n) => rep('x <![CDATA[', n), 32000],
    'html-declaration': ['"x <!A " x n', (n) => rep('x <!A ', n), 32000],
    'html-comments-unclosed': ['"</" then "<!--" x n', (n) => '</' + rep('<!--', n), 32000],
    'html-attributes': ['one tag with n attributes, never closed',
        (n) => 'x <a' + rep(' b="c"', n), 32000],
    'html-blocks': ['n HTML blocks of each start condition',
        (n) => rep('<div>\n\n<!-- c -->\n\n<?p ?>\n\n<![CDATA[x]]>\n\n<pre>\n</pre>\n\n', n),
        32000],
    'table-columns': ['a table of n columns',
        (n) => rep('|x', n) + '|\n' + rep('|-', n) + '|\n' + rep('|y', n) + '|\n', 32000],
    'table-rows': ['a table of n rows', (n) => '|a|b|\n|-|-|\n' + rep('|c|d|\n', n), 32000],
    'table-cells-escaped-pipes': ['a table whose cells hold code spans with escaped pipes',
        (n) => '|a|\n|-|\n' + rep('|`\\|` x `\\|`|\n', n), 32000],
    'strikethrough-unclosed': ['"~~a " x n', (n) => rep('~~a ', n), 32000],
    'setext-headings': ['"a" / "=" x n', (n) => rep('a\n=\n', n), 32000],
    'hard-breaks': ['"a" + two spaces + newline, x n', (n) => rep('a  \n', n), 32000],
    'nul-bytes': ['NUL bytes and invalid UTF-8', (n) => rep('abc\u0000de\u0000\uFFFF', n),
        32000],
};

/** The page of class @p name with the largest repeat count whose length is at most @p bytes. */
export function pageOfSize(name, bytes) {
    const make = CLASSES[name][1];
    let lo = 1, hi = 1;
    while (Buffer.byteLength(make(hi)) <= bytes) hi *= 2;
    while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (Buffer.byteLength(make(mid)) <= bytes) lo = mid;
        else hi = mid;
    }
    return make(lo);
}

function main(argv) {
    if (argv[0] === '--list') {
        for (const [name, [desc]] of Object.entries(CLASSES))
            process.stdout.write(`${name}  ${desc}\n`);
        return;
    }
    const [name, bytes, file] = argv;
    if (!name || !Object.hasOwn(CLASSES, name) || !(Number(bytes) > 0)) {
        process.stderr.write('usage: node gen.mjs --list | CLASS BYTES [FILE]\n');
        process.exit(2);
    }
    const page = pageOfSize(name, Number(bytes));
    if (file) writeFileSync(file, page);
    else process.stdout.write(page);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1])
    main(process.argv.slice(2));
