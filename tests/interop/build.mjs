// Bundles page/peer.js (StanzaJS + harness) for the browser with esbuild.
// `node build.mjs` writes build/peer.bundle.js; peer.mjs calls bundle() in memory.
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));

export async function bundle({ write = false } = {}) {
    const result = await esbuild.build({
        entryPoints: [path.join(here, 'page', 'peer.js')],
        bundle: true,
        platform: 'browser',
        format: 'iife',
        target: ['chrome110'],
        sourcemap: 'inline',
        write,
        outfile: path.join(here, 'build', 'peer.bundle.js'),
        logLevel: 'warning',
        define: {
            'process.env.NODE_ENV': '"production"'
        }
    });
    if (write) {
        return path.join(here, 'build', 'peer.bundle.js');
    }
    return result.outputFiles[0].text;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
    const out = await bundle({ write: true });
    console.log(`wrote ${out}`);
}
