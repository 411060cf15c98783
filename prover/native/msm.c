/*
 * Multi-exponentiation on BN254 (alt_bn128) for the Groth16 prover: sum_i s_i * P_i over G1 (Fq) and over G2
 * (Fq2 = Fq[u] / (u^2 + 1)), with the points and results in ffjavascript's layout, so that no conversion is
 * needed around a call.
 *
 * Layouts (ffjavascript / wasmcurves, n8 = 32): a field element is 4 little-endian 64-bit limbs in Montgomery
 * form (R = 2^256 mod q); an affine base is x then y (G2: x.c0, x.c1, y.c0, y.c1), the point at infinity being
 * all zero bytes (the zkey's zero bases); a result is Jacobian x, y, z (z = 0 at infinity); a scalar is 32
 * little-endian bytes in standard form (any 256-bit integer; the prover's are below r).
 *
 * Method: Pippenger's buckets with signed c-bit digits (2^(c-1) buckets per window, a negative digit adds the
 * negated base), c chosen from n by a cost model in field products (group-template.h); bucket additions in
 * affine coordinates, batched so that one inversion serves up to 512 of them (Montgomery's trick), with the
 * doubling and infinity cases handled; the buckets' sum by the running-sum method in Jacobian coordinates. The
 * windows are split over `threads` POSIX threads, each with its own buckets, and joined by Horner's rule.
 *
 * quotient.h adds the FFTs over Fr that give the H multi-exponentiation its scalars. Little-endian hosts only
 * (x86-64, arm64): the byte layouts are read as 64-bit limbs directly.
 *
 * Exposed to Node through N-API (version 1 functions only; their prototypes are declared below so no header
 * is needed): prepareG1(bases) / prepareG2(bases) copy the affine bases into native memory once and return a
 * handle; msm(handle, scalars, threads) returns a Promise of the Jacobian result (Uint8Array), computed on
 * libuv's thread pool, so several calls overlap; quotient(abc, w, g) returns a Promise of H's scalars.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t u64;
typedef unsigned __int128 u128;

/* ---------------------------------------------------------------- Fq, Montgomery form, R = 2^256 */

/* q = 21888242871839275222246405745257275088696311157297823662689037894645226208583 */
static const u64 Q[4] = {0x3c208c16d87cfd47ULL, 0x97816a916871ca8dULL, 0xb85045b68181585dULL,
                         0x30644e72e131a029ULL};
/* -q^-1 mod 2^64 (a constant, so the compiler folds it into the products; fp_init checks it). */
static const u64 QINV = 0x87d20782e4866389ULL;
/* R mod q: the Montgomery form of 1 (fp_init checks it). */
static const u64 ONE[4] = {0xd35d438dc58f0d9dULL, 0x0a78eb28f5c70b3dULL, 0x666ea36f7879462cULL,
                           0x0e0a77c19a07df2fULL};

typedef struct {
  u64 v[4];
} fp;

/*
 * The arithmetic of both fields (Fq here, Fr below) modulo m, a prime below 2^254: each is called with its
 * field's constant modulus, so the compiler specialises it (static inline, constant arrays).
 */

/* a - m when a >= m (a < 2^256), branch-free. */
static inline void mod_reduce_once(u64 a[4], const u64 m[4]) {
  u64 s[4];
  u128 d = (u128)a[0] - m[0];
  s[0] = (u64)d;
  d = (u128)a[1] - m[1] - ((d >> 64) & 1);
  s[1] = (u64)d;
  d = (u128)a[2] - m[2] - ((d >> 64) & 1);
  s[2] = (u64)d;
  d = (u128)a[3] - m[3] - ((d >> 64) & 1);
  s[3] = (u64)d;
  u64 keep = (u64)0 - (u64)((d >> 64) & 1); /* all ones when a < m */
  for (int i = 0; i < 4; i++) a[i] = (a[i] & keep) | (s[i] & ~keep);
}

static inline void mod_add(fp *r, const fp *a, const fp *b, const u64 m[4]) {
  /* a, b < m < 2^254: the sum fits in 256 bits. */
  u64 t[4];
  u128 c = (u128)a->v[0] + b->v[0];
  t[0] = (u64)c;
  c = (u128)a->v[1] + b->v[1] + (u64)(c >> 64);
  t[1] = (u64)c;
  c = (u128)a->v[2] + b->v[2] + (u64)(c >> 64);
  t[2] = (u64)c;
  t[3] = a->v[3] + b->v[3] + (u64)(c >> 64);
  mod_reduce_once(t, m);
  memcpy(r->v, t, sizeof t);
}

static inline void mod_sub(fp *r, const fp *a, const fp *b, const u64 m[4]) {
  u64 t[4];
  u128 d = (u128)a->v[0] - b->v[0];
  t[0] = (u64)d;
  d = (u128)a->v[1] - b->v[1] - ((d >> 64) & 1);
  t[1] = (u64)d;
  d = (u128)a->v[2] - b->v[2] - ((d >> 64) & 1);
  t[2] = (u64)d;
  d = (u128)a->v[3] - b->v[3] - ((d >> 64) & 1);
  t[3] = (u64)d;
  u64 mask = (u64)0 - (u64)((d >> 64) & 1); /* all ones when a < b: add m back */
  u128 c = (u128)t[0] + (m[0] & mask);
  r->v[0] = (u64)c;
  c = (u128)t[1] + (m[1] & mask) + (u64)(c >> 64);
  r->v[1] = (u64)c;
  c = (u128)t[2] + (m[2] & mask) + (u64)(c >> 64);
  r->v[2] = (u64)c;
  r->v[3] = t[3] + (m[3] & mask) + (u64)(c >> 64);
}

/*
 * Montgomery product a * b / R mod m, minv = -m^-1 mod 2^64: CIOS with the multiplication and the reduction
 * interleaved, without the extra carry word, valid because m's top limb is below (2^64 - 1) / 2 - 1 (the
 * result before the final subtraction is below 2m).
 */
static inline void mont_mul(fp *r, const fp *a, const fp *b, const u64 m[4], const u64 minv) {
  u64 t0 = 0, t1 = 0, t2 = 0, t3 = 0;
  for (int i = 0; i < 4; i++) {
    const u64 bi = b->v[i];
    u128 x = (u128)a->v[0] * bi + t0;
    u64 c = (u64)(x >> 64);
    const u64 k = (u64)x * minv;
    u128 y = (u128)k * m[0] + (u64)x;
    u64 c2 = (u64)(y >> 64);
    x = (u128)a->v[1] * bi + t1 + c;
    c = (u64)(x >> 64);
    y = (u128)k * m[1] + (u64)x + c2;
    c2 = (u64)(y >> 64);
    t0 = (u64)y;
    x = (u128)a->v[2] * bi + t2 + c;
    c = (u64)(x >> 64);
    y = (u128)k * m[2] + (u64)x + c2;
    c2 = (u64)(y >> 64);
    t1 = (u64)y;
    x = (u128)a->v[3] * bi + t3 + c;
    c = (u64)(x >> 64);
    y = (u128)k * m[3] + (u64)x + c2;
    c2 = (u64)(y >> 64);
    t2 = (u64)y;
    t3 = c + c2;
  }
  u64 t[4] = {t0, t1, t2, t3};
  mod_reduce_once(t, m);
  memcpy(r->v, t, sizeof t);
}

static inline void fp_reduce_once(u64 a[4]) { mod_reduce_once(a, Q); }
static inline void fp_add(fp *r, const fp *a, const fp *b) { mod_add(r, a, b, Q); }
static inline void fp_sub(fp *r, const fp *a, const fp *b) { mod_sub(r, a, b, Q); }

static inline void fp_dbl(fp *r, const fp *a) { fp_add(r, a, a); }

static inline void fp_neg(fp *r, const fp *a) {
  fp zero = {{0, 0, 0, 0}};
  fp_sub(r, &zero, a);
}

static inline void fp_mul(fp *r, const fp *a, const fp *b) { mont_mul(r, a, b, Q, QINV); }

/* The 512-bit product a * b (a, b below 2^256), schoolbook. */
static inline void mul_wide(u64 t[8], const u64 a[4], const u64 b[4]) {
  for (int i = 0; i < 4; i++) {
    u64 c = 0;
    for (int j = 0; j < 4; j++) {
      u128 x = (u128)a[j] * b[i] + (i == 0 ? 0 : t[i + j]) + c;
      t[i + j] = (u64)x;
      c = (u64)(x >> 64);
    }
    t[i + 4] = c;
  }
}

/* Montgomery reduction t / R mod q of a 512-bit t below q * 2^256 (t is overwritten). */
static inline void fp_redc(fp *r, u64 t[8]) {
  u64 carry = 0;
  for (int i = 0; i < 4; i++) {
    const u64 m = t[i] * QINV;
    u64 c = 0;
    for (int j = 0; j < 4; j++) {
      u128 x = (u128)m * Q[j] + t[i + j] + c;
      t[i + j] = (u64)x;
      c = (u64)(x >> 64);
    }
    u128 x = (u128)t[i + 4] + c + carry;
    t[i + 4] = (u64)x;
    carry = (u64)(x >> 64);
  }
  /* below 2q < 2^256: carry is 0 */
  fp_reduce_once(t + 4);
  memcpy(r->v, t + 4, 4 * sizeof(u64));
}

static inline void fp_sqr(fp *r, const fp *a) { fp_mul(r, a, a); }

static inline int fp_is_zero(const fp *a) { return (a->v[0] | a->v[1] | a->v[2] | a->v[3]) == 0; }

static inline int fp_eq(const fp *a, const fp *b) {
  return ((a->v[0] ^ b->v[0]) | (a->v[1] ^ b->v[1]) | (a->v[2] ^ b->v[2]) | (a->v[3] ^ b->v[3])) == 0;
}

/* a^(q - 2) = a^-1 (Fermat; 0 for 0), square-and-multiply from the top bit. */
static void fp_inv(fp *r, const fp *a) {
  u64 e[4] = {Q[0] - 2, Q[1], Q[2], Q[3]};
  fp acc;
  memcpy(acc.v, ONE, sizeof ONE);
  for (int i = 255; i >= 0; i--) {
    fp_sqr(&acc, &acc);
    if ((e[i / 64] >> (i % 64)) & 1) fp_mul(&acc, &acc, a);
  }
  *r = acc;
}


/* ---------------------------------------------------------------- Fr (the scalar field), for the FFTs

   The same arithmetic as Fq's above with r's constants, in the same 4-limb type. */

/* r = 21888242871839275222246405745257275088548364400416034343698204186575808495617 */
static const u64 RMOD[4] = {0x43e1f593f0000001ULL, 0x2833e84879b97091ULL, 0xb85045b68181585dULL,
                            0x30644e72e131a029ULL};
/* -r^-1 mod 2^64 */
static const u64 RINV = 0xc2e1f593efffffffULL;
/* R mod r: the Montgomery form of 1 */
static const u64 RONE[4] = {0xac96341c4ffffffbULL, 0x36fc76959f60cd29ULL, 0x666ea36f7879462eULL,
                            0x0e0a77c19a07df2fULL};

static inline void fr_add(fp *r, const fp *a, const fp *b) { mod_add(r, a, b, RMOD); }
static inline void fr_sub(fp *r, const fp *a, const fp *b) { mod_sub(r, a, b, RMOD); }
static inline void fr_mul(fp *r, const fp *a, const fp *b) { mont_mul(r, a, b, RMOD, RINV); }

/* The fields' constants above, computed again: 1 when they are right. */
static int fp_init(void) {
  /* Newton's iteration for q^-1 mod 2^64 (q odd), then negated. */
  u64 inv = 1;
  for (int i = 0; i < 7; i++) inv *= 2 - Q[0] * inv;
  /* R mod q = 2^256 mod q: start at 1 and double 256 times mod q. */
  fp one = {{1, 0, 0, 0}};
  for (int i = 0; i < 256; i++) fp_add(&one, &one, &one);
  if (QINV != (u64)0 - inv || memcmp(ONE, one.v, sizeof ONE) != 0) return 0;
  u64 rinv = 1;
  for (int i = 0; i < 7; i++) rinv *= 2 - RMOD[0] * rinv;
  fp rone = {{1, 0, 0, 0}};
  for (int i = 0; i < 256; i++) fr_add(&rone, &rone, &rone);
  return RINV == (u64)0 - rinv && memcmp(RONE, rone.v, sizeof RONE) == 0;
}

/* ---------------------------------------------------------------- Fq2 = Fq[u] / (u^2 + 1) */

typedef struct {
  fp c0, c1;
} fp2;

static inline void fp2_add(fp2 *r, const fp2 *a, const fp2 *b) {
  fp_add(&r->c0, &a->c0, &b->c0);
  fp_add(&r->c1, &a->c1, &b->c1);
}

static inline void fp2_sub(fp2 *r, const fp2 *a, const fp2 *b) {
  fp_sub(&r->c0, &a->c0, &b->c0);
  fp_sub(&r->c1, &a->c1, &b->c1);
}

static inline void fp2_dbl(fp2 *r, const fp2 *a) { fp2_add(r, a, a); }

static inline void fp2_neg(fp2 *r, const fp2 *a) {
  fp_neg(&r->c0, &a->c0);
  fp_neg(&r->c1, &a->c1);
}

/* 512-bit a + b, and a - b (a >= b), in place on a. */
static inline void add_wide(u64 a[8], const u64 b[8]) {
  u64 c = 0;
  for (int i = 0; i < 8; i++) {
    u128 x = (u128)a[i] + b[i] + c;
    a[i] = (u64)x;
    c = (u64)(x >> 64);
  }
}

static inline u64 sub_wide(u64 a[8], const u64 b[8]) {
  u64 borrow = 0;
  for (int i = 0; i < 8; i++) {
    u128 d = (u128)a[i] - b[i] - borrow;
    a[i] = (u64)d;
    borrow = (u64)(d >> 64) & 1;
  }
  return borrow;
}

/*
 * (a0 + a1 u)(b0 + b1 u) = a0 b0 - a1 b1 + ((a0 + a1)(b0 + b1) - a0 b0 - a1 b1) u, with the three products
 * kept at 512 bits and two Montgomery reductions instead of three. Bounds (q < 2^254, so 4q < 2^256): the sums
 * are below 2q and need no reduction, (a0 + a1)(b0 + b1) < 4q^2 < q 2^256, and a0 b0 - a1 b1, made
 * non-negative by adding q 2^256 when it is negative, stays below q 2^256: both are fp_redc inputs.
 */
static inline void fp2_mul(fp2 *r, const fp2 *a, const fp2 *b) {
  u64 t0[8], t1[8], t2[8], sa[4], sb[4];
  mul_wide(t0, a->c0.v, b->c0.v);
  mul_wide(t1, a->c1.v, b->c1.v);
  u128 ca = 0, cb = 0;
  for (int i = 0; i < 4; i++) {
    ca += (u128)a->c0.v[i] + a->c1.v[i];
    sa[i] = (u64)ca;
    ca >>= 64;
    cb += (u128)b->c0.v[i] + b->c1.v[i];
    sb[i] = (u64)cb;
    cb >>= 64;
  }
  mul_wide(t2, sa, sb);
  sub_wide(t2, t0);
  sub_wide(t2, t1);
  if (sub_wide(t0, t1)) {
    static const u64 qhigh[8] = {0, 0, 0, 0, 0x3c208c16d87cfd47ULL, 0x97816a916871ca8dULL, 0xb85045b68181585dULL,
                                 0x30644e72e131a029ULL};
    add_wide(t0, qhigh); /* wraps past 2^512 back into range */
  }
  fp_redc(&r->c0, t0);
  fp_redc(&r->c1, t2);
}

/* (a0 + a1 u)^2 = (a0 + a1)(a0 - a1) + 2 a0 a1 u */
static inline void fp2_sqr(fp2 *r, const fp2 *a) {
  fp s, d, p;
  fp_add(&s, &a->c0, &a->c1);
  fp_sub(&d, &a->c0, &a->c1);
  fp_mul(&p, &a->c0, &a->c1);
  fp_mul(&r->c0, &s, &d);
  fp_add(&r->c1, &p, &p);
}

/* 1 / (a0 + a1 u) = (a0 - a1 u) / (a0^2 + a1^2) */
static void fp2_inv(fp2 *r, const fp2 *a) {
  fp t0, t1;
  fp_sqr(&t0, &a->c0);
  fp_sqr(&t1, &a->c1);
  fp_add(&t0, &t0, &t1);
  fp_inv(&t0, &t0);
  fp_mul(&r->c0, &a->c0, &t0);
  fp_mul(&t1, &a->c1, &t0);
  fp_neg(&r->c1, &t1);
}

static inline int fp2_is_zero(const fp2 *a) { return fp_is_zero(&a->c0) && fp_is_zero(&a->c1); }

static inline int fp2_eq(const fp2 *a, const fp2 *b) { return fp_eq(&a->c0, &b->c0) && fp_eq(&a->c1, &b->c1); }

/* ---------------------------------------------------------------- the two groups, one template */

#define FE fp
#define FE_ADD fp_add
#define FE_SUB fp_sub
#define FE_DBL fp_dbl
#define FE_NEG fp_neg
#define FE_MUL fp_mul
#define FE_SQR fp_sqr
#define FE_IS_ZERO fp_is_zero
#define FE_EQ fp_eq
#define FE_INV fp_inv
#define FE_SET_ONE(x) memcpy((x)->v, ONE, sizeof ONE)
#define G(name) g1_##name
#include "group-template.h"
#undef FE
#undef FE_ADD
#undef FE_SUB
#undef FE_DBL
#undef FE_NEG
#undef FE_MUL
#undef FE_SQR
#undef FE_IS_ZERO
#undef FE_EQ
#undef FE_INV
#undef FE_SET_ONE
#undef G

static inline void fp2_set_one(fp2 *x) {
  memcpy(x->c0.v, ONE, sizeof ONE);
  memset(x->c1.v, 0, sizeof x->c1.v);
}

#define FE fp2
#define FE_ADD fp2_add
#define FE_SUB fp2_sub
#define FE_DBL fp2_dbl
#define FE_NEG fp2_neg
#define FE_MUL fp2_mul
#define FE_SQR fp2_sqr
#define FE_IS_ZERO fp2_is_zero
#define FE_EQ fp2_eq
#define FE_INV fp2_inv
#define FE_SET_ONE(x) fp2_set_one(x)
#define G(name) g2_##name
#include "group-template.h"

#include "quotient.h"

/* ---------------------------------------------------------------- N-API binding */

#include "napi-min.h"

/*
 * Bases copied into native memory once: a G1 or G2 group, n affine points. They are counted: one count for
 * their JavaScript handle and one for each multi-exponentiation running on them, so a worker thread torn down
 * while one runs (its handle finalised before the work ends) does not free the points under it.
 */
typedef struct {
  int group; /* 1 or 2 */
  size_t n;
  void *points;
  int counts; /* atomic */
} prepared_bases;

static void bases_retain(prepared_bases *b) { __atomic_add_fetch(&b->counts, 1, __ATOMIC_RELAXED); }

static void bases_release(prepared_bases *b) {
  if (__atomic_sub_fetch(&b->counts, 1, __ATOMIC_ACQ_REL) != 0) return;
  free(b->points);
  free(b);
}

typedef struct {
  prepared_bases *bases;
  uint8_t *scalars; /* a copy, n * 32 bytes (fewer scalars than bases: the first ones) */
  size_t n;
  int threads;
  uint8_t result[6 * 32];
  napi_async_work work;
  napi_deferred deferred;
  int failed;
} msm_job;

static void bases_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  bases_release((prepared_bases *)data);
}

static napi_value throw_error(napi_env env, const char *message) {
  napi_throw_error(env, "ZKRISK_NATIVE_MSM", message);
  return NULL;
}

static int typed_array_bytes(napi_env env, napi_value value, void **data, size_t *length) {
  napi_typedarray_type type;
  size_t count;
  napi_value buffer;
  size_t offset;
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return 0;
  if (napi_get_typedarray_info(env, value, &type, &count, data, &buffer, &offset) != napi_ok) return 0;
  if (type != napi_uint8_array) return 0;
  *length = count;
  return 1;
}

static napi_value prepare(napi_env env, napi_callback_info info, int group) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1)
    return throw_error(env, "prepare: one argument (the affine bases, a Uint8Array) expected");
  void *data;
  size_t length;
  if (!typed_array_bytes(env, argv[0], &data, &length))
    return throw_error(env, "prepare: the bases must be a Uint8Array");
  size_t size = group == 1 ? sizeof(g1_affine) : sizeof(g2_affine);
  if (length % size != 0) return throw_error(env, "prepare: the bases' length is not a whole number of points");
  prepared_bases *b = (prepared_bases *)malloc(sizeof *b);
  if (!b) return throw_error(env, "prepare: out of memory");
  b->group = group;
  b->n = length / size;
  b->counts = 1;
  b->points = malloc(length ? length : 1);
  if (!b->points) {
    free(b);
    return throw_error(env, "prepare: out of memory");
  }
  memcpy(b->points, data, length);
  napi_value external;
  if (napi_create_external(env, b, bases_finalize, NULL, &external) != napi_ok) {
    bases_finalize(env, b, NULL);
    return throw_error(env, "prepare: napi_create_external failed");
  }
  return external;
}

static napi_value prepare_g1(napi_env env, napi_callback_info info) { return prepare(env, info, 1); }
static napi_value prepare_g2(napi_env env, napi_callback_info info) { return prepare(env, info, 2); }

static void msm_execute(napi_env env, void *data) {
  (void)env;
  msm_job *job = (msm_job *)data;
  if (job->bases->group == 1) {
    g1_jacobian r;
    if (g1_msm(&r, (const g1_affine *)job->bases->points, job->scalars, job->n, job->threads) != 0)
      job->failed = 1;
    else
      memcpy(job->result, &r, sizeof r);
  } else {
    g2_jacobian r;
    if (g2_msm(&r, (const g2_affine *)job->bases->points, job->scalars, job->n, job->threads) != 0)
      job->failed = 1;
    else
      memcpy(job->result, &r, sizeof r);
  }
}

/*
 * Settle a job's promise with `size` bytes of `result`, or reject it. Every N-API call is checked: when the
 * worker thread that queued the job is being torn down, calls into its JavaScript fail (the environment can no
 * longer run it), and the job is then only freed, its promise left for the engine to discard.
 */
static void settle(napi_env env, napi_deferred deferred, int ok, const void *result, size_t size,
                   const char *failure) {
  napi_value value, buffer, message;
  void *out = NULL;
  if (ok) {
    if (napi_create_arraybuffer(env, size, &out, &buffer) == napi_ok && out != NULL) {
      memcpy(out, result, size);
      if (napi_create_typedarray(env, napi_uint8_array, size, buffer, 0, &value) == napi_ok &&
          napi_resolve_deferred(env, deferred, value) == napi_ok)
        return;
    }
    /* the result could not be handed over: the promise is rejected instead, if JavaScript can still run */
    failure = "native result could not be returned (out of memory?)";
  }
  if (napi_create_string_utf8(env, failure, NAPI_AUTO_LENGTH, &message) != napi_ok ||
      napi_create_error(env, NULL, message, &value) != napi_ok)
    return;
  napi_reject_deferred(env, deferred, value);
}

static void msm_complete(napi_env env, napi_status status, void *data) {
  msm_job *job = (msm_job *)data;
  size_t size = job->bases->group == 1 ? sizeof(g1_jacobian) : sizeof(g2_jacobian);
  settle(env, job->deferred, status == napi_ok && !job->failed, job->result, size,
         "native msm failed (out of memory or threads)");
  napi_delete_async_work(env, job->work);
  bases_release(job->bases);
  free(job->scalars);
  free(job);
}

typedef struct {
  uint8_t *abc, *out;
  size_t n;
  uint8_t w[32], g[32];
  napi_async_work work;
  napi_deferred deferred;
  int failed;
} quotient_job;

static void quotient_execute(napi_env env, void *data) {
  (void)env;
  quotient_job *job = (quotient_job *)data;
  job->failed = quotient(job->out, job->abc, job->n, job->w, job->g) != 0;
}

static void quotient_complete(napi_env env, napi_status status, void *data) {
  quotient_job *job = (quotient_job *)data;
  settle(env, job->deferred, status == napi_ok && !job->failed, job->out, job->n * 32,
         "native quotient failed (out of memory)");
  napi_delete_async_work(env, job->work);
  free(job->abc);
  free(job->out);
  free(job);
}

/* quotient(abc Uint8Array (A, B, C: n values each), w (32 bytes), g (32 bytes)) -> Promise<Uint8Array> */
static napi_value quotient_js(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3)
    return throw_error(env, "quotient: three arguments (abc, w, g) expected");
  void *abc, *w, *g;
  size_t length, wl, gl;
  if (!typed_array_bytes(env, argv[0], &abc, &length) || length % 96 != 0)
    return throw_error(env, "quotient: abc must be a Uint8Array of 3 n 32-byte values");
  size_t n = length / 96;
  if (n < 2 || (n & (n - 1)) != 0) return throw_error(env, "quotient: n must be a power of 2 from 2");
  if (!typed_array_bytes(env, argv[1], &w, &wl) || wl != 32 || !typed_array_bytes(env, argv[2], &g, &gl) ||
      gl != 32)
    return throw_error(env, "quotient: w and g must be 32-byte Uint8Arrays");
  quotient_job *job = (quotient_job *)calloc(1, sizeof *job);
  if (!job) return throw_error(env, "quotient: out of memory");
  job->n = n;
  job->abc = (uint8_t *)malloc(length);
  job->out = (uint8_t *)malloc(n * 32);
  if (!job->abc || !job->out) {
    free(job->abc);
    free(job->out);
    free(job);
    return throw_error(env, "quotient: out of memory");
  }
  memcpy(job->abc, abc, length);
  memcpy(job->w, w, 32);
  memcpy(job->g, g, 32);
  napi_value promise, name;
  if (napi_create_string_utf8(env, "zkrisk-quotient", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, quotient_execute, quotient_complete, job, &job->work) != napi_ok) {
    free(job->abc);
    free(job->out);
    free(job);
    return throw_error(env, "quotient: could not queue the work");
  }
  napi_deferred deferred;
  int created = napi_create_promise(env, &deferred, &promise) == napi_ok;
  job->deferred = deferred;
  if (!created || napi_queue_async_work(env, job->work) != napi_ok) {
    napi_delete_async_work(env, job->work);
    free(job->abc);
    free(job->out);
    free(job);
    if (!created) return throw_error(env, "quotient: could not queue the work");
    /* the promise exists: it is returned rejected (a promise thrown away rejected would go unhandled) */
    settle(env, deferred, 0, NULL, 0, "quotient: could not queue the work");
    return promise;
  }
  return promise;
}

/* msm(bases handle, scalars Uint8Array (32 bytes each, at most n), threads) -> Promise<Uint8Array> */
static napi_value msm(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3)
    return throw_error(env, "msm: three arguments (bases, scalars, threads) expected");
  prepared_bases *bases;
  if (napi_get_value_external(env, argv[0], (void **)&bases) != napi_ok)
    return throw_error(env, "msm: the bases must come from prepareG1 or prepareG2");
  void *scalars;
  size_t length;
  if (!typed_array_bytes(env, argv[1], &scalars, &length) || length % 32 != 0)
    return throw_error(env, "msm: the scalars must be a Uint8Array of 32-byte elements");
  if (length / 32 > bases->n) return throw_error(env, "msm: more scalars than bases");
  uint32_t threads;
  if (napi_get_value_uint32(env, argv[2], &threads) != napi_ok || threads < 1 || threads > 64)
    return throw_error(env, "msm: threads must be an integer from 1 to 64");

  msm_job *job = (msm_job *)calloc(1, sizeof *job);
  if (!job) return throw_error(env, "msm: out of memory");
  job->bases = bases;
  job->n = length / 32;
  job->threads = (int)threads;
  job->scalars = (uint8_t *)malloc(length ? length : 1);
  if (!job->scalars) {
    free(job);
    return throw_error(env, "msm: out of memory");
  }
  memcpy(job->scalars, scalars, length);
  napi_value promise, name;
  if (napi_create_string_utf8(env, "zkrisk-msm", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, msm_execute, msm_complete, job, &job->work) != napi_ok) {
    free(job->scalars);
    free(job);
    return throw_error(env, "msm: could not queue the work");
  }
  napi_deferred deferred;
  int created = napi_create_promise(env, &deferred, &promise) == napi_ok;
  job->deferred = deferred;
  bases_retain(bases);
  if (!created || napi_queue_async_work(env, job->work) != napi_ok) {
    bases_release(bases);
    napi_delete_async_work(env, job->work);
    free(job->scalars);
    free(job);
    if (!created) return throw_error(env, "msm: could not queue the work");
    /* the promise exists: it is returned rejected (a promise thrown away rejected would go unhandled) */
    settle(env, deferred, 0, NULL, 0, "msm: could not queue the work");
    return promise;
  }
  return promise;
}

NAPI_MODULE_EXPORT napi_value napi_register_module_v1(napi_env env, napi_value exports) {
  if (!fp_init()) {
    throw_error(env, "native msm: wrong field constants (a build error)");
    return NULL;
  }
  static const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {{"prepareG1", prepare_g1}, {"prepareG2", prepare_g2}, {"msm", msm}, {"quotient", quotient_js}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f) != napi_ok ||
        napi_set_named_property(env, exports, fns[i].name, f) != napi_ok)
      return NULL;
  }
  return exports;
}
