// Video for the interop peer: a canvas test pattern sent as a camera would be, and a
// reader for the pattern that comes back. The layout is Banter's `pattern` source
// (media/src/video/pattern.rs): 640x480, the frame number as 32 black/white 16x16
// blocks (bit 31 first) one block below the top edge, so each side can read the
// other's numbers after VP8.

const W = 640;
const H = 480;
const BLOCK = 16;
const BITS = 32;
const TOP = BLOCK;

// A MediaStream with one video track drawing the pattern at `fps`.
export function patternStream(fps = 30) {
    const canvas = document.createElement('canvas');
    canvas.width = W;
    canvas.height = H;
    const g = canvas.getContext('2d');
    let n = 0;
    const draw = () => {
        const shift = n % W;
        for (let bar = 0; bar < 8; bar++) {
            const v = 40 + bar * 25;
            g.fillStyle = `rgb(${v},${255 - v},${(v * 3) % 255})`;
            const x = ((bar * W) / 8 - shift + W) % W;
            g.fillRect(x, 0, W / 8, H);
            g.fillRect(x - W, 0, W / 8, H);
        }
        for (let bit = 0; bit < BITS; bit++) {
            const on = ((n >>> (BITS - 1 - bit)) & 1) === 1;
            g.fillStyle = on ? '#ebebeb' : '#101010';
            g.fillRect(bit * BLOCK, TOP, BLOCK, BLOCK);
        }
        n = (n + 1) >>> 0;
    };
    draw();
    const timer = setInterval(draw, 1000 / fps);
    const stream = canvas.captureStream(fps);
    const track = stream.getVideoTracks()[0];
    // A test pattern: keep its resolution (the numbers are read at 640x480).
    track.contentHint = 'detail';
    track.addEventListener('ended', () => clearInterval(timer));
    return stream;
}

// Reads the frame number from RGBA pixels of a picture `width` wide (the centre of
// each block, by luma): the blocks sit at the same pixels at any picture size.
export function readNumber(rgba, width) {
    let n = 0;
    for (let bit = 0; bit < BITS; bit++) {
        const x = bit * BLOCK + BLOCK / 2;
        const y = TOP + BLOCK / 2;
        const i = (y * width + x) * 4;
        const luma = 0.299 * rgba[i] + 0.587 * rgba[i + 1] + 0.114 * rgba[i + 2];
        n = ((n << 1) | (luma > 128 ? 1 : 0)) >>> 0;
    }
    return n;
}

// Plays a remote video track and samples the burned-in numbers of the pictures shown.
export function remoteVideoReader(stream) {
    const el = document.createElement('video');
    el.muted = true;
    el.autoplay = true;
    el.playsInline = true;
    el.srcObject = stream;
    document.body.appendChild(el);
    el.play().catch(() => {});
    const canvas = document.createElement('canvas');
    canvas.width = W;
    canvas.height = TOP + BLOCK;
    const g = canvas.getContext('2d', { willReadFrequently: true });
    return {
        // { width, height, number } of the picture on screen now (number null when
        // the picture is too small for the number, or not there yet). The picture is
        // drawn at its own size (a shared screen is larger than a camera's), and only
        // the strip holding the number is read.
        sample() {
            const width = el.videoWidth;
            const height = el.videoHeight;
            if (!width || !height) {
                return { width, height, number: null };
            }
            if (width < W || height < TOP + BLOCK) {
                return { width, height, number: null };
            }
            g.drawImage(el, 0, 0, W, TOP + BLOCK, 0, 0, W, TOP + BLOCK);
            const px = g.getImageData(0, 0, W, TOP + BLOCK).data;
            return { width, height, number: readNumber(px, W) };
        },
        close() {
            el.srcObject = null;
            el.remove();
        }
    };
}

// Video figures from WebRTC statistics.
export async function videoStats(pc) {
    const stats = await pc.getStats();
    const out = {};
    const codec = id => {
        const c = id && stats.get(id);
        return c ? c.mimeType.replace(/^video\//, '') : undefined;
    };
    stats.forEach(r => {
        if (r.type === 'inbound-rtp' && r.kind === 'video') {
            out.codec = codec(r.codecId);
            out.frames_decoded = r.framesDecoded;
            out.frames_per_second = r.framesPerSecond;
            out.frame_width = r.frameWidth;
            out.frame_height = r.frameHeight;
            out.pli_sent = r.pliCount;
            out.nack_sent = r.nackCount;
            out.video_bytes_received = r.bytesReceived;
        }
        if (r.type === 'outbound-rtp' && r.kind === 'video') {
            out.sent_codec = codec(r.codecId);
            out.frames_encoded = r.framesEncoded;
            out.sent_width = r.frameWidth;
            out.sent_height = r.frameHeight;
            out.pli_received = r.pliCount;
            out.quality_limitation = r.qualityLimitationReason;
        }
    });
    return out;
}
