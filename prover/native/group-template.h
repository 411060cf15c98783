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

static void *G(run)(void *arg) {
  G(task) *task = (G(task) *)arg;
  size_t nb = (size_t)1 << (task->c - 1);
  G(jacobian) *buckets = (G(jacobian) *)malloc(nb * sizeof *buckets);
  if (!buckets) {
    task->failed = 1;
    return NULL;
  }
  for (int w = task->first; w < task->windows; w += task->step) {
    memset(buckets, 0, nb * sizeof *buckets);
    const int32_t *d = task->digits + (size_t)w * task->n;
    for (size_t i = 0; i < task->n; i++) {
      int32_t k = d[i];
      if (k == 0) continue;
      const G(affine) *b = &task->bases[i];
      if (k > 0) {
        G(add_mixed)(&buckets[k - 1], b);
      } else {
        G(affine) neg;
        neg.x = b->x;
        FE_NEG(&neg.y, &b->y);
        G(add_mixed)(&buckets[-k - 1], &neg);
      }
    }
    /* sum_k k * bucket_k: a running sum from the top bucket down, added up once per bucket. */
    G(jacobian) running, sum;
    G(set_inf)(&running);
    G(set_inf)(&sum);
    for (size_t k = nb; k-- > 0;) {
      G(add)(&running, &buckets[k]);
      G(add)(&sum, &running);
    }
    task->sums[w] = sum;
  }
  free(buckets);
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
  /* window: signed digits need bits + 1 bits; cost ~ windows * (n mixed + 2^(c-1) * 2 full additions) */
  int c = 1;
  double best = -1;
  for (int t = 2; t <= 20; t++) {
    int win = (bits + 1 + t - 1) / t;
    double cost = (double)win * ((double)n + 3.0 * (double)((size_t)1 << (t - 1)));
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
