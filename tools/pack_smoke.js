#!/usr/bin/env node
/*
 * Packs the package as npm would publish it and installs the tarball in
 * temporary consumer projects beside the OLDEST tfjs 4.x the peer range
 * accepts and beside 4.22, then runs tools/pack_smoke_consumer.js in each
 * (op, layer, save/load, replaceBatchNormalization, ESM entry, bundle path;
 * cpu backend) and checks npm did not nest a second copy of tfjs.
 *
 *   npm run build && node tools/pack_smoke.js [tfjsVersion ...]
 *
 * The default versions are the lower end of peerDependencies'
 * @tensorflow/tfjs-core range and 4.22.0, so the range written in
 * package.json is what is tested. Installs run in parallel with a persistent
 * npm cache (.tmp/npm-cache, or TFBNI_NPM_CACHE) and --prefer-offline; the
 * registry is needed the first time only.
 */
'use strict';
const {execFile} = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const PKG = require(path.join(ROOT, 'package.json'));
const CACHE = process.env.TFBNI_NPM_CACHE || path.join(ROOT, '.tmp', 'npm-cache');
/** What a user of tfjs installs: the union package and the peers it pins. */
const PEERS = ['@tensorflow/tfjs', '@tensorflow/tfjs-core', '@tensorflow/tfjs-layers',
               '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-webgl'];
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** The versions tested by default: the peer range's lower end, and 4.22.0. */
function defaultVersions() {
  const range = PKG.peerDependencies['@tensorflow/tfjs-core'];
  const m = /^\^(\d+\.\d+\.\d+)$/.exec(range);
  if (!m) throw new Error(`pack_smoke: expected a ^x.y.z tfjs-core peer range, got '${range}'`);
  return [...new Set([m[1], '4.22.0'])];
}

function run(command, args, cwd) {
  return new Promise((resolve, reject) => {
    execFile(command, args, {cwd, maxBuffer: 64 << 20, env: {...process.env, NODE_OPTIONS: ''}},
             (error, stdout, stderr) => {
               if (error) {
                 reject(new Error(`${command} ${args.join(' ')} (in ${cwd}) failed:\n${stdout}${stderr}`));
               } else {
                 resolve(stdout.trim());
               }
             });
  });
}

async function pack(dir) {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.cjs'))) {
    throw new Error("dist/ is missing: run 'npm run build' first");
  }
  const out = await run(NPM, ['pack', '--silent', '--pack-destination', dir], ROOT);
  return path.join(dir, out.split('\n').pop());
}

/**
 * Installs the tarball, @tensorflow/tfjs@version and the peers at the same
 * version in a fresh project, then runs the smoke script. The peers are
 * named because npm places an unnamed peer at the newest version its range
 * allows, and @tensorflow/tfjs (which pins its own tfjs-core exactly) then
 * gets a nested second copy; the README tells users the same.
 */
async function smoke(tmp, tarball, version) {
  const dir = path.join(tmp, `tfjs-${version}`);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'package.json'),
                   JSON.stringify({name: 'consumer', version: '1.0.0', private: true}));
  const started = Date.now();
  await run(NPM, ['install', '--no-audit', '--no-fund', '--no-package-lock', '--prefer-offline',
                  '--loglevel=error', '--cache', CACHE, tarball,
                  ...PEERS.map((name) => `${name}@${version}`)], dir);
  const installSeconds = (Date.now() - started) / 1000;
  fs.copyFileSync(path.join(__dirname, 'pack_smoke_consumer.js'), path.join(dir, 'smoke.js'));
  const line = await run(process.execPath, ['smoke.js'], dir);
  return {version, line, installSeconds};
}

async function main(versions) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tfbni-pack-smoke-'));
  try {
    const tarball = await pack(tmp);
    console.log(`packed ${path.basename(tarball)} (${fs.statSync(tarball).size} bytes); ` +
                `peer range ${PKG.peerDependencies['@tensorflow/tfjs-core']}`);
    const results = await Promise.allSettled(versions.map((v) => smoke(tmp, tarball, v)));
    let failed = 0;
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') {
        console.log(`tfjs ${r.value.version}: ${r.value.line} (install ${r.value.installSeconds.toFixed(0)} s)`);
      } else {
        failed++;
        const lines = r.reason.message.split('\n');
        console.log(`tfjs ${versions[i]}: FAILED\n${lines.slice(0, 2).concat(lines.slice(-14)).join('\n')}`);
      }
    });
    console.log(`pack smoke: ${versions.length - failed}/${versions.length} tfjs versions passed`);
    return failed ? 1 : 0;
  } finally {
    fs.rmSync(tmp, {recursive: true, force: true});
  }
}

module.exports = {defaultVersions, main};

if (require.main === module) {
  const versions = process.argv.slice(2);
  main(versions.length ? versions : defaultVersions()).then((code) => {
    process.exitCode = code;
  }, (e) => {
    console.error(`pack smoke FAILED: ${e.message}`);
    process.exitCode = 1;
  });
}
