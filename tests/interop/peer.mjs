#!/usr/bin/env node
// A StanzaJS Jingle audio peer in headless Chromium, for interop tests.
//
//   node peer.mjs --ws ws://127.0.0.1:PORT/xmpp-websocket --jid user@example.test \
//       --password PW --mode call|answer [--peer JID] [--tone HZ] [--duration S] [--timeout S]
//
// Prints one JSON object per line on stdout (see README.md). Exit status: 0 when the
// call became active and the remote audio had a clear dominant frequency (matching
// --expect-hz when given); 1 when it did not; 2 on a usage error or timeout.

import http from 'node:http';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { bundle } from './build.mjs';

const T0 = Date.now();
function out(obj) {
    process.stdout.write(JSON.stringify({ ...obj, t: Date.now() - T0 }) + '\n');
}

const USAGE = `usage: node peer.mjs --ws URL --jid JID --password PW --mode call|answer
  [--peer JID]          call: whom to call (full JID: direct session-initiate;
                        bare JID: JMI propose with --jmi, else the first available resource)
                        answer: only accept calls from this bare JID; both: subscribe to it
  [--tone HZ]           sine tone sent (default 660)
  [--duration S]        seconds to stay in the call once active (default 6)
  [--timeout S]         give up after S seconds in all (default 60)
  [--expect-hz HZ]      fail unless the received dominant frequency is HZ (+-3 %)
  [--jmi]               call a bare JID with XEP-0353 propose (harness-implemented)
  [--no-jmi-answer]     answer mode: reject JMI proposals (only direct session-initiate)
  [--answer-delay MS]   answer mode: ring this long before accepting (default 500)
  [--no-tcp]            do not signal TCP candidates (loopback UDP only)
  [--video]             also send a 640x480 test pattern (frame numbers burned in) and
                        require the peer's pictures, read the same way, to count up
  [--no-bundle]         be like Dino: advertise video calls but not BUNDLE
  [--restart-ice-at S]  restart ICE S seconds after the call is active (StanzaJS does
                        it only as the initiator: call mode)
  [--expect-after S]    with --expect-hz: fail unless the frequency is also heard S
                        seconds or more after the call became active
                        (urn:xmpp:jingle:apps:grouping:0), and offer no BUNDLE group,
                        so each content has an ICE/DTLS transport of its own
  [--video-codecs LIST] offer and answer only these video codecs (comma-separated,
                        e.g. VP8: a peer without VP9)
  [--require-loopback-pair]  fail unless the selected ICE pair is 127.x on both ends
  [--resource RES]      XMPP resource (default stanza-XXXXXX)
  [--verbose]           print Jingle / JMI stanzas ({"event":"xml"}) and page console
  [--verbose-all]       print every stanza and StanzaJS Jingle logs
  [--chromium PATH]     browser (default /usr/bin/chromium)`;

let args;
try {
    ({ values: args } = parseArgs({
        options: {
            ws: { type: 'string' },
            jid: { type: 'string' },
            password: { type: 'string' },
            mode: { type: 'string' },
            peer: { type: 'string' },
            tone: { type: 'string', default: '660' },
            duration: { type: 'string', default: '6' },
            timeout: { type: 'string', default: '60' },
            'expect-hz': { type: 'string' },
            jmi: { type: 'boolean', default: false },
            'no-jmi-answer': { type: 'boolean', default: false },
            'answer-delay': { type: 'string', default: '500' },
            'no-tcp': { type: 'boolean', default: false },
            video: { type: 'boolean', default: false },
            'no-bundle': { type: 'boolean', default: false },
            'video-codecs': { type: 'string' },
            'restart-ice-at': { type: 'string' },
            'expect-after': { type: 'string' },
            'require-loopback-pair': { type: 'boolean', default: false },
            resource: { type: 'string' },
            verbose: { type: 'boolean', default: false },
            'verbose-all': { type: 'boolean', default: false },
            chromium: { type: 'string', default: process.env.CHROMIUM || '/usr/bin/chromium' },
            help: { type: 'boolean', default: false }
        },
        strict: true
    }));
} catch (e) {
    console.error(`${e.message}\n${USAGE}`);
    process.exit(2);
}
if (args.help) {
    console.log(USAGE);
    process.exit(0);
}
for (const req of ['ws', 'jid', 'password', 'mode']) {
    if (!args[req]) {
        console.error(`missing --${req}\n${USAGE}`);
        process.exit(2);
    }
}
if (!['call', 'answer'].includes(args.mode)) {
    console.error(`--mode must be call or answer\n${USAGE}`);
    process.exit(2);
}
if (args.mode === 'call' && !args.peer) {
    console.error(`--mode call needs --peer\n${USAGE}`);
    process.exit(2);
}

const verbose = args.verbose || args['verbose-all'];
const opts = {
    ws: args.ws,
    jid: args.jid,
    password: args.password,
    mode: args.mode,
    peer: args.peer,
    tone: Number(args.tone),
    duration: Number(args.duration),
    expectHz: args['expect-hz'] ? Number(args['expect-hz']) : undefined,
    jmi: args.jmi,
    jmiRespond: !args['no-jmi-answer'],
    answerDelay: Number(args['answer-delay']),
    allowTcp: !args['no-tcp'],
    video: args.video,
    noBundle: args['no-bundle'],
    videoCodecs: args['video-codecs'] ? args['video-codecs'].split(',') : undefined,
    restartIceAt: args['restart-ice-at'] ? Number(args['restart-ice-at']) : undefined,
    expectAfter: args['expect-after'] ? Number(args['expect-after']) : undefined,
    requireLoopbackPair: args['require-loopback-pair'],
    resource: args.resource,
    verbose,
    verboseAll: args['verbose-all']
};

// Chromium flags: headless, no sandbox (root in a container), no network beyond what the
// page opens, WebRTC on loopback with real IPs instead of mDNS names, autoplay without a
// gesture (AudioContext), no permission prompts.
const CHROMIUM_ARGS = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--allow-loopback-in-peer-connection',
    '--disable-features=WebRtcHideLocalIpsWithMdns',
    '--use-fake-ui-for-media-stream',
    '--autoplay-policy=no-user-gesture-required'
];

let browser;
let server;
let exiting = false;

async function shutdown(code) {
    if (exiting) {
        return;
    }
    exiting = true;
    try {
        if (browser) {
            await Promise.race([browser.close(), new Promise(r => setTimeout(r, 5000))]);
        }
    } catch (_) {
        // closing anyway
    }
    if (server) {
        server.close();
    }
    process.exit(code);
}

process.on('SIGINT', () => shutdown(130));
process.on('SIGTERM', () => shutdown(143));

async function main() {
    const js = await bundle();
    const html = '<!doctype html><html><head><meta charset="utf-8"><title>banter interop peer</title></head>' +
        '<body><script src="/peer.js"></script></body></html>';
    server = http.createServer((req, res) => {
        if (req.url === '/' || req.url.startsWith('/?')) {
            res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
            res.end(html);
        } else if (req.url === '/peer.js') {
            res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
            res.end(js);
        } else if (req.url === '/favicon.ico') {
            res.writeHead(204);
            res.end();
        } else {
            res.writeHead(404);
            res.end();
        }
    });
    await new Promise(r => server.listen(0, '127.0.0.1', r));
    const pageUrl = `http://127.0.0.1:${server.address().port}/`;

    browser = await chromium.launch({
        executablePath: args.chromium,
        headless: true,
        args: CHROMIUM_ARGS
    });
    out({ event: 'browser', version: browser.version() });
    const page = await browser.newPage();
    let result;
    await page.exposeFunction('peerEvent', obj => out(obj));
    page.on('pageerror', err => out({ event: 'error', message: `page error: ${err.message}` }));
    page.on('console', msg => {
        if (verbose || msg.type() === 'error') {
            out({ event: 'console', level: msg.type(), text: msg.text() });
        }
    });
    page.on('crash', () => out({ event: 'error', message: 'page crashed' }));
    await page.goto(pageUrl);

    const timeoutMs = Number(args.timeout) * 1000;
    const timeout = new Promise(r => setTimeout(() => r('timeout'), timeoutMs));
    result = await Promise.race([page.evaluate(o => window.runPeer(o), opts), timeout]);
    if (result === 'timeout') {
        out({ event: 'error', message: `timed out after ${args.timeout} s` });
        out({ event: 'result', ok: false, error: 'timeout' });
        return shutdown(2);
    }
    out({ event: 'result', ...result });
    return shutdown(result.ok ? 0 : 1);
}

main().catch(err => {
    out({ event: 'error', message: String(err && err.stack ? err.stack : err) });
    shutdown(2);
});
