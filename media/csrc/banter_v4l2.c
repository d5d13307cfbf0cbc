/* banter_v4l2.c: V4L2 camera capture (mmap streaming) behind an opaque handle, so no
 * kernel struct crosses into Rust. Used by media/src/video/camera.rs. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/videodev2.h>

#define NBUF 4
typedef struct bv4l { int fd; void *mem[NBUF]; size_t len[NBUF]; int n; int held; } bv4l;

static int xioctl(int fd, unsigned long req, void *arg) {
  int r; do { r = ioctl(fd, req, arg); } while (r == -1 && errno == EINTR); return r;
}

/* Card name of a capture node ("" and -1 if it is not a video capture device). */
int bv4l_card(const char *path, char *name, int cap) {
  int fd = open(path, O_RDWR | O_NONBLOCK); if (fd < 0) return -errno;
  struct v4l2_capability c; memset(&c, 0, sizeof c);
  int ok = xioctl(fd, VIDIOC_QUERYCAP, &c) == 0;
  close(fd);
  uint32_t caps = (c.capabilities & V4L2_CAP_DEVICE_CAPS) ? c.device_caps : c.capabilities;
  if (!ok || !(caps & V4L2_CAP_VIDEO_CAPTURE) || !(caps & V4L2_CAP_STREAMING)) return -1;
  strncpy(name, (const char *)c.card, cap - 1); name[cap - 1] = 0;
  return 0;
}

/* Opens, negotiates w x h (YUYV preferred, else MJPG), fps, starts streaming.
 * On return *w, *h, *fourcc, *stride (bytes per line) and *fps hold what the driver
 * chose. On failure returns NULL with *err set to the errno of the step that failed,
 * so the caller can tell "busy" from "no permission" from "gone". */
bv4l *bv4l_open(const char *path, int *w, int *h, int *fps, uint32_t *fourcc, int *stride,
                int *err) {
  *err = 0;
  bv4l *d = calloc(1, sizeof *d); if (!d) { *err = ENOMEM; return NULL; }
  d->fd = open(path, O_RDWR | O_NONBLOCK); d->held = -1;
  if (d->fd < 0) { *err = errno; free(d); return NULL; }
  uint32_t want[2] = { V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_MJPEG };
  struct v4l2_format f;
  int set = 0;
  for (int i = 0; i < 2 && !set; i++) {
    memset(&f, 0, sizeof f); f.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    f.fmt.pix.width = *w; f.fmt.pix.height = *h; f.fmt.pix.pixelformat = want[i]; f.fmt.pix.field = V4L2_FIELD_NONE;
    if (xioctl(d->fd, VIDIOC_S_FMT, &f) == 0) set = f.fmt.pix.pixelformat == want[i];
    else if (errno == EBUSY) { *err = EBUSY; goto fail; } /* another program streams */
  }
  if (!set) { /* neither format: report what the device does give */
    memset(&f, 0, sizeof f); f.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (xioctl(d->fd, VIDIOC_G_FMT, &f)) { *err = errno; goto fail; }
  }
  *w = f.fmt.pix.width; *h = f.fmt.pix.height; *fourcc = f.fmt.pix.pixelformat;
  *stride = f.fmt.pix.bytesperline ? (int)f.fmt.pix.bytesperline : *w * 2;
  struct v4l2_streamparm p; memset(&p, 0, sizeof p); p.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  p.parm.capture.timeperframe.numerator = 1; p.parm.capture.timeperframe.denominator = *fps;
  if (xioctl(d->fd, VIDIOC_S_PARM, &p) == 0 && p.parm.capture.timeperframe.numerator > 0)
    *fps = (int)(p.parm.capture.timeperframe.denominator / p.parm.capture.timeperframe.numerator);
  struct v4l2_requestbuffers rb; memset(&rb, 0, sizeof rb);
  rb.count = NBUF; rb.type = V4L2_BUF_TYPE_VIDEO_CAPTURE; rb.memory = V4L2_MEMORY_MMAP;
  if (xioctl(d->fd, VIDIOC_REQBUFS, &rb)) { *err = errno; goto fail; }
  if (rb.count < 2) { *err = ENOMEM; goto fail; }
  d->n = rb.count > NBUF ? NBUF : rb.count;
  for (int i = 0; i < d->n; i++) {
    struct v4l2_buffer b; memset(&b, 0, sizeof b);
    b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE; b.memory = V4L2_MEMORY_MMAP; b.index = i;
    if (xioctl(d->fd, VIDIOC_QUERYBUF, &b)) { *err = errno; goto fail; }
    d->len[i] = b.length;
    d->mem[i] = mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, d->fd, b.m.offset);
    if (d->mem[i] == MAP_FAILED) { *err = errno; d->mem[i] = NULL; goto fail; }
    if (xioctl(d->fd, VIDIOC_QBUF, &b)) { *err = errno; goto fail; }
  }
  enum v4l2_buf_type t = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  if (xioctl(d->fd, VIDIOC_STREAMON, &t)) { *err = errno; goto fail; }
  return d;
fail:
  for (int i = 0; i < d->n; i++) if (d->mem[i]) munmap(d->mem[i], d->len[i]);
  close(d->fd); free(d); return NULL;
}

/* Waits up to timeout_ms for a frame; returns its byte length (data in *data, valid until
 * the next call), 0 on timeout, <0 on error. The previous frame's buffer is re-queued. */
int bv4l_next(bv4l *d, int timeout_ms, const uint8_t **data) {
  if (d->held >= 0) {
    struct v4l2_buffer b; memset(&b, 0, sizeof b);
    b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE; b.memory = V4L2_MEMORY_MMAP; b.index = d->held;
    xioctl(d->fd, VIDIOC_QBUF, &b); d->held = -1;
  }
  struct pollfd pf = { d->fd, POLLIN, 0 };
  int r = poll(&pf, 1, timeout_ms);
  if (r < 0) return errno == EINTR ? 0 : -errno;
  if (r == 0) return 0;
  struct v4l2_buffer b; memset(&b, 0, sizeof b);
  b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE; b.memory = V4L2_MEMORY_MMAP;
  if (xioctl(d->fd, VIDIOC_DQBUF, &b)) return errno == EAGAIN ? 0 : -errno;
  if (b.index >= (unsigned)d->n) return -EINVAL;
  d->held = b.index; *data = d->mem[b.index];
  if (b.flags & V4L2_BUF_FLAG_ERROR) return 0; /* a damaged picture: skip it */
  if (b.bytesused > d->len[b.index]) b.bytesused = d->len[b.index];
  return (int)b.bytesused;
}

void bv4l_close(bv4l *d) {
  if (!d) return;
  enum v4l2_buf_type t = V4L2_BUF_TYPE_VIDEO_CAPTURE; xioctl(d->fd, VIDIOC_STREAMOFF, &t);
  for (int i = 0; i < d->n; i++) if (d->mem[i]) munmap(d->mem[i], d->len[i]);
  close(d->fd); free(d);
}
