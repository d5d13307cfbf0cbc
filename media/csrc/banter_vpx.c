/* banter_vpx.c: the whole libvpx surface (VP8 and VP9) Banter needs (Debian libvpx-dev), behind opaque
 * handles, so that no libvpx struct (whose layout changes between versions) crosses the FFI. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <vpx/vpx_encoder.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vp8cx.h>
#include <vpx/vp8dx.h>

typedef struct bvpx_enc { vpx_codec_ctx_t ctx; vpx_codec_enc_cfg_t cfg; vpx_image_t img; int64_t pts; int dur; } bvpx_enc;

/* vp9: 0 for VP8, 1 for VP9 (profile 0: 8-bit 4:2:0, what every VP9 peer decodes). */
static vpx_codec_iface_t *enc_iface(int vp9) { return vp9 ? vpx_codec_vp9_cx() : vpx_codec_vp8_cx(); }
static vpx_codec_iface_t *dec_iface(int vp9) { return vp9 ? vpx_codec_vp9_dx() : vpx_codec_vp8_dx(); }
typedef struct bvpx_dec { vpx_codec_ctx_t ctx; } bvpx_dec;

/* Returns NULL on failure. bitrate in kbit/s. screen: tuned for screen content (text,
 * flat areas, little motion): libvpx's screen mode, frames dropped rather than a blurred
 * picture when much changes at once. Keyframes stay within 3 frames' budget for both: a
 * larger one is a burst that gets lost; the still picture sharpens in the frames after. */
bvpx_enc *bvpx_enc_new(int vp9, int w, int h, int fps, int kbps, int threads, int cpu_used, int screen) {
  bvpx_enc *e = calloc(1, sizeof *e);
  if (!e) return NULL;
  if (vpx_codec_enc_config_default(enc_iface(vp9), &e->cfg, 0)) goto fail;
  e->cfg.g_w = w; e->cfg.g_h = h;
  e->cfg.g_timebase.num = 1; e->cfg.g_timebase.den = 90000;   /* RTP clock: pts = RTP ts */
  e->cfg.rc_target_bitrate = kbps;
  e->cfg.g_threads = threads;
  e->cfg.g_lag_in_frames = 0;               /* no look-ahead: real time */
  e->cfg.g_pass = VPX_RC_ONE_PASS;
  e->cfg.rc_end_usage = VPX_CBR;
  e->cfg.rc_dropframe_thresh = 0;           /* or 30: drop frames instead of overshooting */
  e->cfg.rc_resize_allowed = 0;
  e->cfg.rc_min_quantizer = 2; e->cfg.rc_max_quantizer = 56;
  e->cfg.rc_undershoot_pct = 100; e->cfg.rc_overshoot_pct = 15;
  e->cfg.rc_buf_initial_sz = 500; e->cfg.rc_buf_optimal_sz = 600; e->cfg.rc_buf_sz = 1000;
  e->cfg.kf_mode = VPX_KF_AUTO; e->cfg.kf_min_dist = 0; e->cfg.kf_max_dist = 3000; /* keyframes on request */
  /* VP8 as libwebrtc sends it; VP9 without layers as libwebrtc sends it (resilience
   * there costs quality and buys nothing: a loss brings a keyframe request anyway). */
  e->cfg.g_error_resilient = vp9 ? 0 : VPX_ERROR_RESILIENT_DEFAULT;
  if (screen) {
    /* A scrolled page is a change of every pixel, not a new scene: coded from the
     * picture before (motion), never a keyframe by itself; keyframes on request only. */
    e->cfg.kf_mode = VPX_KF_DISABLED;
    e->cfg.rc_dropframe_thresh = 25;
    e->cfg.rc_max_quantizer = 52;
    e->cfg.rc_buf_initial_sz = 1000; e->cfg.rc_buf_optimal_sz = 1200; e->cfg.rc_buf_sz = 2000;
  }
  e->dur = fps > 0 ? 90000 / fps : 3000;
  if (vpx_codec_enc_init(&e->ctx, enc_iface(vp9), &e->cfg, 0)) goto fail;
  /* VP8: -16..16, -6 .. -12 fast real time. VP9: 5..9 real time, 9 the fastest. */
  vpx_codec_control(&e->ctx, VP8E_SET_CPUUSED, cpu_used);
  vpx_codec_control(&e->ctx, VP8E_SET_NOISE_SENSITIVITY, 0);
  vpx_codec_control(&e->ctx, VP8E_SET_STATIC_THRESHOLD, 1);
  /* VP9's first picture of a page of text came out 60 % larger than VP8's at 300
   * (225 kB against 141 kB at 1280x720, paced out over half a second); at 100 it is
   * VP8's size and fewer frames are dropped after it. */
  vpx_codec_control(&e->ctx, VP8E_SET_MAX_INTRA_BITRATE_PCT, vp9 ? 100u : 300u);
  if (vp9) {
    /* Screen tools (palette, intra block copy-like search, no noise filtering), tiles
     * so that row-based threading has columns to share, and cyclic refresh, which
     * heals a picture after a loss without a full keyframe. */
    vpx_codec_control(&e->ctx, VP9E_SET_TUNE_CONTENT, screen ? VP9E_CONTENT_SCREEN : VP9E_CONTENT_DEFAULT);
    vpx_codec_control(&e->ctx, VP9E_SET_ROW_MT, 1u);
    vpx_codec_control(&e->ctx, VP9E_SET_TILE_COLUMNS, threads > 1 ? 1 : 0);
    vpx_codec_control(&e->ctx, VP9E_SET_AQ_MODE, 3u);
    vpx_codec_control(&e->ctx, VP9E_SET_FRAME_PARALLEL_DECODING, 0u);
  } else {
    vpx_codec_control(&e->ctx, VP8E_SET_TOKEN_PARTITIONS, VP8_ONE_TOKENPARTITION);
    if (screen) vpx_codec_control(&e->ctx, VP8E_SET_SCREEN_CONTENT_MODE, 1u);
  }
  return e;
fail:
  free(e); return NULL;
}

int bvpx_enc_set_bitrate(bvpx_enc *e, int kbps) {
  e->cfg.rc_target_bitrate = kbps;
  return vpx_codec_enc_config_set(&e->ctx, &e->cfg) == VPX_CODEC_OK ? 0 : -1;
}

/* Encodes one I420 frame (planes with strides). Writes the frame into out (cap bytes);
 * returns its length, 0 if the encoder dropped the frame, -1 on error, -2 if out too small.
 * *is_key set to 1 for a keyframe. pts in 90 kHz units. */
int bvpx_enc_encode(bvpx_enc *e, const uint8_t *y, int ys, const uint8_t *u, int us,
                    const uint8_t *v, int vs, int64_t pts, int force_key,
                    uint8_t *out, int cap, int *is_key) {
  vpx_img_wrap(&e->img, VPX_IMG_FMT_I420, e->cfg.g_w, e->cfg.g_h, 1, (unsigned char *)y);
  e->img.planes[0] = (unsigned char *)y; e->img.stride[0] = ys;
  e->img.planes[1] = (unsigned char *)u; e->img.stride[1] = us;
  e->img.planes[2] = (unsigned char *)v; e->img.stride[2] = vs;
  if (vpx_codec_encode(&e->ctx, &e->img, pts, e->dur /* one frame interval, 90 kHz */,
                       force_key ? VPX_EFLAG_FORCE_KF : 0, VPX_DL_REALTIME)) return -1;
  vpx_codec_iter_t it = NULL; const vpx_codec_cx_pkt_t *p; int len = 0;
  *is_key = 0;
  while ((p = vpx_codec_get_cx_data(&e->ctx, &it))) {
    if (p->kind != VPX_CODEC_CX_FRAME_PKT) continue;
    if (len + (int)p->data.frame.sz > cap) return -2;
    memcpy(out + len, p->data.frame.buf, p->data.frame.sz);
    len += p->data.frame.sz;
    if (p->data.frame.flags & VPX_FRAME_IS_KEY) *is_key = 1;
  }
  return len;
}

void bvpx_enc_free(bvpx_enc *e) { if (e) { vpx_codec_destroy(&e->ctx); free(e); } }

bvpx_dec *bvpx_dec_new(int vp9, int threads) {
  bvpx_dec *d = calloc(1, sizeof *d);
  vpx_codec_dec_cfg_t cfg = { .threads = threads, .w = 0, .h = 0 };
  if (!d) return NULL;
  if (vpx_codec_dec_init(&d->ctx, dec_iface(vp9), &cfg, 0)) { free(d); return NULL; }
  return d;
}

/* Decodes one frame. On success fills the plane pointers (valid until the next call),
 * strides and size, returns 1; 0 if no picture came out; -1 on a corrupt/undecodable
 * frame (caller sends PLI and waits for a keyframe). */
int bvpx_dec_decode(bvpx_dec *d, const uint8_t *data, int len,
                    const uint8_t **y, const uint8_t **u, const uint8_t **v,
                    int *ys, int *us, int *vs, int *w, int *h) {
  if (vpx_codec_decode(&d->ctx, data, (unsigned)len, NULL, 0)) return -1;
  int corrupt = 0;
  vpx_codec_control(&d->ctx, VP8D_GET_FRAME_CORRUPTED, &corrupt);
  vpx_codec_iter_t it = NULL; vpx_image_t *img = vpx_codec_get_frame(&d->ctx, &it);
  if (!img) return 0;
  /* Only 8-bit 4:2:0 is read out (VP9 profiles 1-3 are refused, not misread). */
  if (corrupt || img->fmt != VPX_IMG_FMT_I420) return -1;
  *y = img->planes[0]; *u = img->planes[1]; *v = img->planes[2];
  *ys = img->stride[0]; *us = img->stride[1]; *vs = img->stride[2];
  *w = img->d_w; *h = img->d_h;
  return 1;
}

void bvpx_dec_free(bvpx_dec *d) { if (d) { vpx_codec_destroy(&d->ctx); free(d); } }
