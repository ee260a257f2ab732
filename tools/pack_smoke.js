#!/usr/bin/env node
/*
 * Packs the package as npm would publish it and adds it to consumer projects
 * the way people add a plugin: a project that ALREADY has @tensorflow/tfjs
 * (4.0.0, 4.10.0, 4.22.0 by default) gets `npm install <tarball>` as a second
 * command. Then it checks that `npm ls` finds one @tensorflow/tfjs-core in the
 * tree and runs tools/pack_smoke_consumer.js there (op, layer, save/load,
 * replaceBatchNormalization, ESM entry, bundle path; cpu backend). One more
 * project installs the tarball and @tensorflow/tfjs@4.22.0 in a single
 * command, as the docs also show.
 *
 *   npm run build && node tools/pack_smoke.js [tfjsVersion ...]
 *
 * Installs use a persistent npm cache (.tmp/npm-cache, or TFBNI_NPM_CACHE)
 * with --prefer-offline: the registry is needed the first time only. The
 * consumer projects live in .tmp/pack-smoke/ (git-ignored) and are rebuilt
 * every run. The helpers (pack, makeConsumer, npmInstall, coreCopies) are
 * also used by the block test and the TypeScript consumer test.
 */
'use strict';
const {execFile} = require('child_process');
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const PKG = require(path.join(ROOT, 'package.json'));
const CACHE = process.env.TFBNI_NPM_CACHE || path.join(ROOT, '.tmp', 'npm-cache');
const WORK = path.join(ROOT, '.tmp', 'pack-smoke');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
/** tfjs versions a project may already have when it adds the package. */
const DEFAULT_VERSIONS = ['4.0.0', '4.10.0', '4.22.0'];
/** The version of the single-command case (npm picks the newest peers there). */
const SINGLE_COMMAND_VERSION = '4.22.0';

function run(command, args, cwd, env = {}) {
  return new Promise((resolve, reject) => {
    execFile(command, args, {cwd, maxBuffer: 64 << 20, env: {...process.env, NODE_OPTIONS: '', ...env}},
             (error, stdout, stderr) => {
               if (error) {
                 reject(new Error(`${command} ${args.join(' ')} (in ${cwd}) failed:\n${stdout}${stderr}`));
               } else {
                 resolve(stdout.trim());
               }
             });
  });
}

/** `npm pack` into dir; returns the tarball's path. Needs dist/. */
async function pack(dir) {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.cjs'))) {
    throw new Error("dist/ is missing: run 'npm run build' first");
  }
  fs.mkdirSync(dir, {recursive: true});
  const out = await run(NPM, ['pack', '--silent', '--pack-destination', dir], ROOT);
  return path.join(dir, out.split('\n').pop());
}

/** A fresh, empty `npm init -y`-like project at dir (removed first if present). */
function makeConsumer(dir) {
  fs.rmSync(dir, {recursive: true, force: true});
  fs.mkdirSync(dir, {recursive: true});
  fs.writeFileSync(path.join(dir, 'package.json'),
                   JSON.stringify({name: 'consumer', version: '1.0.0', private: true}, null, 2));
  return dir;
}

/** `npm install <specs>` in dir, with the cache; returns the seconds it took. */
async function npmInstall(dir, specs) {
  const started = Date.now();
  await run(NPM, ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error',
                  '--cache', CACHE, ...specs], dir);
  return (Date.now() - started) / 1000;
}

/** Every @tensorflow/tfjs-core `npm ls` finds in dir's tree, as "version at path" strings. */
async function coreCopies(dir) {
  const out = await run(NPM, ['ls', '@tensorflow/tfjs-core', '--all', '--parseable', '--long'], dir)
      .catch((e) => { throw new Error(`npm ls failed (an invalid or missing peer?):\n${e.message}`); });
  return [...new Set(out.split('\n').filter((l) => l.includes('@tensorflow/tfjs-core@')).map((l) => {
    const [where, spec] = l.split(':');
    return `${spec.replace('@tensorflow/tfjs-core@', '')} at ${path.relative(dir, where)}`;
  }))];
}

/**
 * One consumer: steps are lists of specs, each one `npm install` command;
 * then one tfjs-core of the expected version, then the smoke script.
 */
async function smoke(tarball, name, steps, version) {
  const dir = makeConsumer(path.join(WORK, name));
  const seconds = [];
  for (const specs of steps) seconds.push(await npmInstall(dir, specs.map((s) => (s === 'TARBALL' ? tarball : s))));
  const copies = await coreCopies(dir);
  if (copies.length !== 1 || !copies[0].startsWith(`${version} `)) {
    throw new Error(`expected one @tensorflow/tfjs-core ${version}, npm ls found ${copies.length}: ${copies.join('; ')}`);
  }
  fs.copyFileSync(path.join(__dirname, 'pack_smoke_consumer.js'), path.join(dir, 'smoke.js'));
  const line = await run(process.execPath, ['smoke.js'], dir);
  return {name, line, copies, seconds};
}

async function main(versions) {
  fs.mkdirSync(WORK, {recursive: true});
  const tarball = await pack(WORK);
  console.log(`packed ${path.basename(tarball)} (${fs.statSync(tarball).size} bytes); ` +
              `peers ${Object.entries(PKG.peerDependencies).map(([n, r]) => `${n}@${r}`).join(' ')}`);
  const cases = versions.map((v) => ({
    name: `tfjs-${v}-then-package`, version: v, steps: [[`@tensorflow/tfjs@${v}`], ['TARBALL']],
    what: `npm install @tensorflow/tfjs@${v}; npm install <tarball>`,
  }));
  cases.push({name: `one-command-${SINGLE_COMMAND_VERSION}`, version: SINGLE_COMMAND_VERSION,
              steps: [['TARBALL', `@tensorflow/tfjs@${SINGLE_COMMAND_VERSION}`]],
              what: `npm install <tarball> @tensorflow/tfjs@${SINGLE_COMMAND_VERSION}`});
  // Two at a time: the machine is shared, and npm is mostly waiting on the disk.
  const results = [];
  for (let i = 0; i < cases.length; i += 2) {
    results.push(...await Promise.allSettled(cases.slice(i, i + 2).map(
        (c) => smoke(tarball, c.name, c.steps, c.version))));
  }
  let failed = 0;
  results.forEach((r, i) => {
    const c = cases[i];
    if (r.status === 'fulfilled') {
      console.log(`${c.what}: ${r.value.line}; npm ls: one tfjs-core ${r.value.copies[0]} ` +
                  `(install ${r.value.seconds.map((s) => `${s.toFixed(0)} s`).join(' + ')})`);
    } else {
      failed++;
      const lines = r.reason.message.split('\n');
      console.log(`${c.what}: FAILED\n${lines.slice(0, 2).concat(lines.slice(-14)).join('\n')}`);
    }
  });
  console.log(`pack smoke: ${cases.length - failed}/${cases.length} installs passed`);
  return failed ? 1 : 0;
}

module.exports = {CACHE, DEFAULT_VERSIONS, SINGLE_COMMAND_VERSION, pack, makeConsumer, npmInstall, coreCopies, run, main};

if (require.main === module) {
  const versions = process.argv.slice(2);
  main(versions.length ? versions : DEFAULT_VERSIONS).then((code) => {
    process.exitCode = code;
  }, (e) => {
    console.error(`pack smoke FAILED: ${e.message}`);
    process.exitCode = 1;
  });
}
