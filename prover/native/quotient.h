/*
 * The H multi-exponentiation's scalars from the QAP's evaluations (snarkjs's groth16 prove after buildABC):
 * A, B and C, each given by its n values on the domain <w> (Montgomery form), are moved to the coset g<w>
 * (inverse FFT, coefficient j times g^j, FFT), and joined there as A B - C, out of Montgomery form. The same
 * values as ffjavascript's Fr.ifft, batchApplyKey, Fr.fft and qap_joinABC + frm_batchFromMontgomery compute.
 * Included by msm.c after the Fr arithmetic.
 */

/* a^e, e a 256-bit exponent (little-endian limbs), a and the result in Montgomery form. */
static void fr_pow(fp *r, const fp *a, const u64 e[4]) {
  fp acc;
  memcpy(acc.v, RONE, sizeof RONE);
  for (int i = 255; i >= 0; i--) {
    fr_mul(&acc, &acc, &acc);
    if ((e[i / 64] >> (i % 64)) & 1) fr_mul(&acc, &acc, a);
  }
  *r = acc;
}

/* In place, n = 2^log_n values: a[i] = sum_j a[j] w^(i j), tw[k] = w^k for k < n / 2 (radix 2, in-order out). */
static void fr_fft(fp *a, size_t n, int log_n, const fp *tw) {
  for (size_t i = 0; i < n; i++) {
    size_t j = 0;
    for (int b = 0; b < log_n; b++) j |= ((i >> b) & 1) << (log_n - 1 - b);
    if (j > i) {
      fp t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }
  for (size_t len = 2; len <= n; len <<= 1) {
    size_t half = len / 2, step = n / len;
    for (size_t i = 0; i < n; i += len) {
      for (size_t j = 0; j < half; j++) {
        fp t, u = a[i + j];
        fr_mul(&t, &a[i + j + half], &tw[j * step]);
        fr_add(&a[i + j], &u, &t);
        fr_sub(&a[i + j + half], &u, &t);
      }
    }
  }
}

typedef struct {
  fp *values; /* n values on <w>, replaced by the n values on g<w> */
  size_t n;
  int log_n;
  const fp *tw, *tw_inv; /* w^k, w^-k for k < n / 2 */
  fp n_inv, g;
} coset_task;

static void *coset_run(void *arg) {
  coset_task *t = (coset_task *)arg;
  fr_fft(t->values, t->n, t->log_n, t->tw_inv);
  fp s = t->n_inv; /* coefficient j of the inverse FFT is (1/n) sum, times g^j */
  for (size_t j = 0; j < t->n; j++) {
    fr_mul(&t->values[j], &t->values[j], &s);
    fr_mul(&s, &s, &t->g);
  }
  fr_fft(t->values, t->n, t->log_n, t->tw);
  return NULL;
}

/*
 * out (n * 32 bytes, standard form, little-endian) = A B - C on g<w>; abc: A, B, C's n values each (Montgomery,
 * 32 bytes little-endian), w a primitive n-th root of unity and g the coset's generator (Montgomery). Returns 0,
 * or -1 when memory could not be had.
 */
static int quotient(uint8_t *out, const uint8_t *abc, size_t n, const uint8_t w_bytes[32], const uint8_t g_bytes[32]) {
  int log_n = 0;
  while (((size_t)1 << log_n) < n) log_n++;
  size_t half = n / 2 ? n / 2 : 1;
  fp *values = (fp *)malloc(3 * n * sizeof(fp));
  fp *tw = (fp *)malloc(half * sizeof(fp));
  fp *tw_inv = (fp *)malloc(half * sizeof(fp));
  if (!values || !tw || !tw_inv) {
    free(values);
    free(tw);
    free(tw_inv);
    return -1;
  }
  memcpy(values, abc, 3 * n * sizeof(fp));
  fp w, g, w_inv, n_mont, n_inv;
  memcpy(w.v, w_bytes, 32);
  memcpy(g.v, g_bytes, 32);
  u64 e[4] = {(u64)n - 1, 0, 0, 0}; /* w^-1 = w^(n-1) */
  fr_pow(&w_inv, &w, e);
  memcpy(n_mont.v, RONE, sizeof RONE);
  for (int i = 0; i < log_n; i++) fr_add(&n_mont, &n_mont, &n_mont);
  u64 r_minus_2[4] = {RMOD[0] - 2, RMOD[1], RMOD[2], RMOD[3]};
  fr_pow(&n_inv, &n_mont, r_minus_2);
  memcpy(tw[0].v, RONE, sizeof RONE);
  tw_inv[0] = tw[0];
  for (size_t k = 1; k < half; k++) {
    fr_mul(&tw[k], &tw[k - 1], &w);
    fr_mul(&tw_inv[k], &tw_inv[k - 1], &w_inv);
  }
  coset_task tasks[3];
  pthread_t ids[3];
  int started[3] = {0, 0, 0};
  for (int p = 0; p < 3; p++) tasks[p] = (coset_task){values + p * n, n, log_n, tw, tw_inv, n_inv, g};
  for (int p = 1; p < 3; p++) started[p] = pthread_create(&ids[p], NULL, coset_run, &tasks[p]) == 0;
  coset_run(&tasks[0]);
  for (int p = 1; p < 3; p++) {
    if (started[p])
      pthread_join(ids[p], NULL);
    else
      coset_run(&tasks[p]);
  }
  const fp one_std = {{1, 0, 0, 0}};
  for (size_t i = 0; i < n; i++) {
    fp t;
    fr_mul(&t, &values[i], &values[n + i]);
    fr_sub(&t, &t, &values[2 * n + i]);
    fr_mul(&t, &t, &one_std); /* out of Montgomery form: t / R */
    for (int l = 0; l < 4; l++)
      for (int b = 0; b < 8; b++) out[32 * i + 8 * l + b] = (uint8_t)(t.v[l] >> (8 * b));
  }
  free(values);
  free(tw);
  free(tw_inv);
  return 0;
}
