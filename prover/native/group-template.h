/*
 * Points of y^2 = x^3 + b over a field FE (G1: Fq, G2: Fq2; b never enters the addition formulas) and their
 * multi-exponentiation. Included by msm.c once per group, with FE, FE_* and G(name) defined.
 *
 * Formulas (a = 0, Jacobian: x = X / Z^2, y = Y / Z^3, Z = 0 at infinity), from the Explicit-Formulas
 * Database's names: doubling dbl-2009-l, mixed addition madd-2007-bl, addition add-2007-bl. Each addition
 * checks H = 0 (same x): the doubling when also r = 0 (equal points), else infinity (opposite points).
 */

typedef struct {
  FE x, y; /* all zero: infinity (the zkey's zero bases) */
} G(affine);

typedef struct {
  FE x, y, z;
} G(jacobian);

static inline int G(affine_is_inf)(const G(affine) * a) { return FE_IS_ZERO(&a->x) && FE_IS_ZERO(&a->y); }

static inline void G(set_inf)(G(jacobian) * p) { memset(p, 0, sizeof *p); }

static inline void G(dbl)(G(jacobian) * p) {
  if (FE_IS_ZERO(&p->z)) return;
  FE a, b, c, d, e, f, t;
  FE_SQR(&a, &p->x);
  FE_SQR(&b, &p->y);
  FE_SQR(&c, &b);
  FE_ADD(&t, &p->x, &b);
  FE_SQR(&t, &t);
  FE_SUB(&t, &t, &a);
  FE_SUB(&t, &t, &c);
  FE_DBL(&d, &t);
  FE_DBL(&e, &a);
  FE_ADD(&e, &e, &a);
  FE_SQR(&f, &e);
  /* Z3 = 2 Y1 Z1 before Y1 is overwritten */
  FE_MUL(&p->z, &p->y, &p->z);
  FE_DBL(&p->z, &p->z);
  FE_DBL(&t, &d);
  FE_SUB(&p->x, &f, &t);
  FE_SUB(&t, &d, &p->x);
  FE_MUL(&t, &e, &t);
  FE_DBL(&c, &c);
  FE_DBL(&c, &c);
  FE_DBL(&c, &c);
  FE_SUB(&p->y, &t, &c);
}

/* p += a, a affine and not infinity. */
static inline void G(add_mixed)(G(jacobian) * p, const G(affine) * a) {
  if (FE_IS_ZERO(&p->z)) {
    p->x = a->x;
    p->y = a->y;
    FE_SET_ONE(&p->z);
    return;
  }
  FE z1z1, u2, s2, h, hh, i, j, r, v, t;
  FE_SQR(&z1z1, &p->z);
  FE_MUL(&u2, &a->x, &z1z1);
  FE_MUL(&s2, &a->y, &p->z);
  FE_MUL(&s2, &s2, &z1z1);
  FE_SUB(&h, &u2, &p->x);
  FE_SUB(&r, &s2, &p->y);
  if (FE_IS_ZERO(&h)) {
    if (FE_IS_ZERO(&r))
      G(dbl)(p);
    else
      G(set_inf)(p);
    return;
  }
  FE_SQR(&hh, &h);
  FE_DBL(&i, &hh);
  FE_DBL(&i, &i);
  FE_MUL(&j, &h, &i);
  FE_DBL(&r, &r);
  FE_MUL(&v, &p->x, &i);
  /* Z3 = (Z1 + H)^2 - Z1Z1 - HH */
  FE_ADD(&t, &p->z, &h);
  FE_SQR(&t, &t);
  FE_SUB(&t, &t, &z1z1);
  FE_SUB(&p->z, &t, &hh);
  /* X3 = r^2 - J - 2V */
  FE_SQR(&t, &r);
  FE_SUB(&t, &t, &j);
  FE_SUB(&t, &t, &v);
  FE_SUB(&p->x, &t, &v);
  /* Y3 = r (V - X3) - 2 Y1 J */
  FE_SUB(&t, &v, &p->x);
  FE_MUL(&t, &r, &t);
  FE_MUL(&j, &p->y, &j);
  FE_DBL(&j, &j);
  FE_SUB(&p->y, &t, &j);
}

/* p += q, both Jacobian. */
static inline void G(add)(G(jacobian) * p, const G(jacobian) * q) {
  if (FE_IS_ZERO(&q->z)) return;
  if (FE_IS_ZERO(&p->z)) {
    *p = *q;
    return;
  }
  FE z1z1, z2z2, u1, u2, s1, s2, h, i, j, r, v, t;
  FE_SQR(&z1z1, &p->z);
  FE_SQR(&z2z2, &q->z);
  FE_MUL(&u1, &p->x, &z2z2);
  FE_MUL(&u2, &q->x, &z1z1);
  FE_MUL(&s1, &p->y, &q->z);
  FE_MUL(&s1, &s1, &z2z2);
  FE_MUL(&s2, &q->y, &p->z);
  FE_MUL(&s2, &s2, &z1z1);
  FE_SUB(&h, &u2, &u1);
  FE_SUB(&r, &s2, &s1);
  if (FE_IS_ZERO(&h)) {
    if (FE_IS_ZERO(&r))
      G(dbl)(p);
    else
      G(set_inf)(p);
    return;
  }
  FE_DBL(&i, &h);
  FE_SQR(&i, &i);
  FE_MUL(&j, &h, &i);
  FE_DBL(&r, &r);
  FE_MUL(&v, &u1, &i);
  /* Z3 = ((Z1 + Z2)^2 - Z1Z1 - Z2Z2) H */
  FE_ADD(&t, &p->z, &q->z);
  FE_SQR(&t, &t);
  FE_SUB(&t, &t, &z1z1);
  FE_SUB(&t, &t, &z2z2);
  FE_MUL(&p->z, &t, &h);
  /* X3 = r^2 - J - 2V */
  FE_SQR(&t, &r);
  FE_SUB(&t, &t, &j);
  FE_SUB(&t, &t, &v);
  FE_SUB(&p->x, &t, &v);
  /* Y3 = r (V - X3) - 2 S1 J */
  FE_SUB(&t, &v, &p->x);
  FE_MUL(&t, &r, &t);
  FE_MUL(&j, &s1, &j);
  FE_DBL(&j, &j);
  FE_SUB(&p->y, &t, &j);
}

typedef struct {
  const G(affine) * bases;
  const int32_t *digits; /* window w, point i at w * n + i */
  size_t n;
  int c;
  int windows;
  int first, step; /* this thread's windows: first, first + step, ... */
  G(jacobian) * sums; /* one per window */
  int failed;
} G(task);

/* Additions per batch at most: one field inversion is shared by this many bucket additions. */
#define G_BATCH 512

/*
 * Additions per batch with 2^(c-1) buckets: a quarter of the buckets (a batch holds one addition per bucket;
 * the points whose bucket is taken wait for the next batch, and their number grows with the batch's share of
 * the buckets).
 */
static int G(batch_size)(int c) {
  size_t quarter = ((size_t)1 << (c - 1)) / 4;
  return quarter < 1 ? 1 : quarter > G_BATCH ? G_BATCH : (int)quarter;
}

/* The working memory of one thread's bucket phase. */
typedef struct {
  G(affine) * buckets; /* 2^(c-1) affine buckets */
  uint8_t *full;       /* bucket holds a point (else it is infinity) */
  uint8_t *busy;       /* bucket has an addition in the batch being collected */
  uint32_t *queue;     /* points whose bucket was busy: retried in the next batch (at most a batch of them) */
  G(jacobian) * over;  /* a Jacobian bucket beside each affine one, for the busy buckets' points when the
                          queue is full (a window with few distinct digits, such as the top one) */
  uint32_t bucket[G_BATCH];
  uint8_t kind[G_BATCH]; /* 0: add, 1: double, 2: the sum is infinity */
  G(affine) point[G_BATCH];
  FE num[G_BATCH], den[G_BATCH], prefix[G_BATCH];
} G(work);

/*
 * buckets[bucket[j]] += point[j] for the m additions collected (no two in one bucket), in affine coordinates
 * with one inversion for all (Montgomery's trick): lambda = (y2 - y1) / (x2 - x1), or 3 x1^2 / (2 y1) for
 * equal points; x3 = lambda^2 - x1 - x2, y3 = lambda (x1 - x3) - y1. Opposite points empty the bucket.
 */
static void G(flush)(G(work) * wk, int m) {
  for (int j = 0; j < m; j++) {
    const G(affine) *a = &wk->buckets[wk->bucket[j]], *p = &wk->point[j];
    if (FE_EQ(&a->x, &p->x)) {
      if (FE_EQ(&a->y, &p->y)) {
        FE t;
        wk->kind[j] = 1;
        FE_SQR(&t, &a->x);
        FE_DBL(&wk->num[j], &t);
        FE_ADD(&wk->num[j], &wk->num[j], &t);
        FE_DBL(&wk->den[j], &a->y);
      } else {
        wk->kind[j] = 2;
        FE_SET_ONE(&wk->den[j]);
      }
    } else {
      wk->kind[j] = 0;
      FE_SUB(&wk->num[j], &p->y, &a->y);
      FE_SUB(&wk->den[j], &p->x, &a->x);
    }
    if (j == 0)
      wk->prefix[0] = wk->den[0];
    else
      FE_MUL(&wk->prefix[j], &wk->prefix[j - 1], &wk->den[j]);
  }
  FE inv, dinv, lambda, t;
  FE_INV(&inv, &wk->prefix[m - 1]);
  for (int j = m - 1; j >= 0; j--) {
    if (j > 0) {
      FE_MUL(&dinv, &inv, &wk->prefix[j - 1]);
      FE_MUL(&inv, &inv, &wk->den[j]);
    } else {
      dinv = inv;
    }
    uint32_t k = wk->bucket[j];
    G(affine) *a = &wk->buckets[k];
    if (wk->kind[j] == 2) {
      wk->full[k] = 0;
      continue;
    }
    FE_MUL(&lambda, &wk->num[j], &dinv);
    FE_SQR(&t, &lambda);
    FE_SUB(&t, &t, &a->x);
    FE_SUB(&t, &t, &wk->point[j].x); /* x3 */
    FE x1 = a->x;
    a->x = t;
    FE_SUB(&t, &x1, &t);
    FE_MUL(&t, &lambda, &t);
    FE_SUB(&a->y, &t, &a->y);
  }
}

static void *G(run)(void *arg) {
  G(task) *task = (G(task) *)arg;
  const size_t nb = (size_t)1 << (task->c - 1), n = task->n;
  G(work) *wk = (G(work) *)malloc(sizeof *wk);
  if (wk) {
    wk->buckets = (G(affine) *)malloc(nb * sizeof *wk->buckets);
    wk->full = (uint8_t *)malloc(nb);
    wk->busy = (uint8_t *)malloc(nb);
    wk->queue = (uint32_t *)malloc(G_BATCH * sizeof *wk->queue);
    wk->over = (G(jacobian) *)malloc(nb * sizeof *wk->over);
  }
  if (!wk || !wk->buckets || !wk->full || !wk->busy || !wk->queue || !wk->over) {
    if (wk) {
      free(wk->over);
      free(wk->buckets);
      free(wk->full);
      free(wk->busy);
      free(wk->queue);
    }
    free(wk);
    task->failed = 1;
    return NULL;
  }
  for (int w = task->first; w < task->windows; w += task->step) {
    const int32_t *d = task->digits + (size_t)w * n;
    memset(wk->full, 0, nb);
    memset(wk->busy, 0, nb);
    memset(wk->over, 0, nb * sizeof *wk->over);
    size_t i = 0, queued = 0;
    const int batch = G(batch_size)(task->c);
    while (i < n || queued > 0) {
      int m = 0;
      /* Place point `at`: straight into an empty bucket, else as an addition of this batch. */
#define G_PLACE(at)                                                                                          \
  do {                                                                                                       \
    int32_t k_ = d[at];                                                                                      \
    uint32_t b_ = (uint32_t)(k_ > 0 ? k_ - 1 : -k_ - 1);                                                     \
    G(affine) *dst_ = wk->full[b_] ? &wk->point[m] : &wk->buckets[b_];                                       \
    dst_->x = task->bases[at].x;                                                                             \
    if (k_ > 0)                                                                                              \
      dst_->y = task->bases[at].y;                                                                           \
    else                                                                                                     \
      FE_NEG(&dst_->y, &task->bases[at].y);                                                                  \
    if (wk->full[b_]) {                                                                                      \
      wk->busy[b_] = 1;                                                                                      \
      wk->bucket[m++] = b_;                                                                                  \
    } else {                                                                                                 \
      wk->full[b_] = 1;                                                                                      \
    }                                                                                                        \
  } while (0)
      size_t kept = 0;
      for (size_t q = 0; q < queued; q++) {
        uint32_t at = wk->queue[q];
        int32_t k = d[at];
        uint32_t b = (uint32_t)(k > 0 ? k - 1 : -k - 1);
        if (m == batch || wk->busy[b])
          wk->queue[kept++] = at;
        else
          G_PLACE(at);
      }
      queued = kept;
      for (; m < batch && i < n; i++) {
        int32_t k = d[i];
        if (k == 0) continue;
        uint32_t b = (uint32_t)(k > 0 ? k - 1 : -k - 1);
        if (!wk->busy[b]) {
          G_PLACE(i);
        } else if (queued < (size_t)batch) {
          wk->queue[queued++] = (uint32_t)i;
        } else {
          G(affine) p = task->bases[i];
          if (k < 0) FE_NEG(&p.y, &p.y);
          G(add_mixed)(&wk->over[b], &p);
        }
      }
#undef G_PLACE
      if (m > 0) {
        G(flush)(wk, m);
        for (int j = 0; j < m; j++) wk->busy[wk->bucket[j]] = 0;
      }
    }
    /* sum_k k * bucket_k: a running sum from the top bucket down, added up once per bucket. */
    G(jacobian) running, sum;
    G(set_inf)(&running);
    G(set_inf)(&sum);
    for (size_t k = nb; k-- > 0;) {
      if (wk->full[k]) G(add_mixed)(&running, &wk->buckets[k]);
      G(add)(&running, &wk->over[k]);
      G(add)(&sum, &running);
    }
    task->sums[w] = sum;
  }
  free(wk->buckets);
  free(wk->full);
  free(wk->busy);
  free(wk->queue);
  free(wk->over);
  free(wk);
  return NULL;
}

/*
 * r = sum_i scalars_i * bases_i over n points (scalars: 32 bytes little-endian each, standard form), on
 * `threads` threads. Returns 0, or -1 when memory or a thread could not be had.
 */
static int G(msm)(G(jacobian) * r, const G(affine) * bases, const uint8_t *scalars, size_t n, int threads) {
  G(set_inf)(r);
  u64 *limbs = (u64 *)malloc((n ? n : 1) * 4 * sizeof(u64));
  if (!limbs) return -1;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    u64 *s = limbs + 4 * i;
    for (int l = 0; l < 4; l++) {
      u64 v = 0;
      for (int b = 7; b >= 0; b--) v = (v << 8) | scalars[32 * i + 8 * l + b];
      s[l] = v;
    }
    /* a zero base contributes nothing: drop its scalar here, once for all windows */
    if (G(affine_is_inf)(&bases[i])) memset(s, 0, 4 * sizeof(u64));
    for (int l = 3; l >= 0; l--) {
      if (s[l]) {
        int top = 64 * l + 64 - __builtin_clzll(s[l]);
        if (top > bits) bits = top;
        break;
      }
    }
  }
  if (bits == 0) {
    free(limbs);
    return 0;
  }
  /* window: signed digits need bits + 1 bits; cost ~ windows * (n batched affine additions, about 6 products
     each and a share of the batch's inversion, + 2^(c-1) mixed and full additions, about 27) */
  int c = 1;
  double best = -1;
  for (int t = 2; t <= 20; t++) {
    int win = (bits + 1 + t - 1) / t;
    /* in products: an inversion is about 380, shared by a batch */
    double cost = (double)win * ((double)n * (6.0 + 380.0 / G(batch_size)(t)) + 27.0 * (double)((size_t)1 << (t - 1)));
    if (best < 0 || cost < best) {
      best = cost;
      c = t;
    }
  }
  int windows = (bits + 1 + c - 1) / c;
  int32_t *digits = (int32_t *)malloc((size_t)windows * (n ? n : 1) * sizeof(int32_t));
  G(jacobian) *sums = (G(jacobian) *)malloc((size_t)windows * sizeof *sums);
  if (!digits || !sums) {
    free(limbs);
    free(digits);
    free(sums);
    return -1;
  }
  const int64_t half = (int64_t)1 << (c - 1), full = (int64_t)1 << c;
  for (size_t i = 0; i < n; i++) {
    const u64 *s = limbs + 4 * i;
    int64_t carry = 0;
    for (int w = 0; w < windows; w++) {
      int pos = w * c;
      int64_t raw = 0;
      if (pos < 256) {
        int l = pos / 64, o = pos % 64;
        u128 v = s[l] >> o;
        if (o + c > 64 && l + 1 < 4) v |= (u128)s[l + 1] << (64 - o);
        raw = (int64_t)(v & (u64)(full - 1));
      }
      raw += carry;
      if (raw > half) {
        raw -= full;
        carry = 1;
      } else {
        carry = 0;
      }
      digits[(size_t)w * n + i] = (int32_t)raw;
    }
  }
  free(limbs);

  if (threads > windows) threads = windows;
  if (threads < 1) threads = 1;
  G(task) tasks[64];
  pthread_t ids[64];
  int started[64] = {0};
  for (int t = 0; t < threads; t++) {
    tasks[t] = (G(task)){bases, digits, n, c, windows, t, threads, sums, 0};
  }
  for (int t = 1; t < threads; t++) started[t] = pthread_create(&ids[t], NULL, G(run), &tasks[t]) == 0;
  G(run)(&tasks[0]);
  int failed = tasks[0].failed;
  for (int t = 1; t < threads; t++) {
    if (started[t]) {
      pthread_join(ids[t], NULL);
      failed |= tasks[t].failed;
    } else {
      G(run)(&tasks[t]); /* no thread: do its windows here */
      failed |= tasks[t].failed;
    }
  }
  if (!failed) {
    *r = sums[windows - 1];
    for (int w = windows - 2; w >= 0; w--) {
      for (int k = 0; k < c; k++) G(dbl)(r);
      G(add)(r, &sums[w]);
    }
  }
  free(digits);
  free(sums);
  return failed ? -1 : 0;
}
