#ifndef TRIAD_COPENSSL_SHIM_H
#define TRIAD_COPENSSL_SHIM_H
// OpenSSL 3 libcrypto, as the crypto wrapper target sees it. Macros that Swift cannot
// import are re-exposed as static inline functions here.
// The OAEP padding helpers are deprecated in 3.0 but are the library's own constant-time
// code for removing OAEP from a raw RSA result (what a PIV card returns, SP 800-73-4 Part 2).
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/rsa.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/bn.h>
#include <openssl/kdf.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/crypto.h>
#include <openssl/bio.h>
#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/encoder.h>
#include <openssl/decoder.h>

static inline long triad_BIO_get_mem_data(BIO *b, char **pp) { return BIO_get_mem_data(b, pp); }
static inline int triad_EVP_PKEY_CTX_set_rsa_padding(EVP_PKEY_CTX *c, int p) { return EVP_PKEY_CTX_set_rsa_padding(c, p); }
static inline int triad_EVP_PKEY_CTX_set_rsa_pss_saltlen(EVP_PKEY_CTX *c, int l) { return EVP_PKEY_CTX_set_rsa_pss_saltlen(c, l); }
static inline const char *triad_OBJ_nid2sn(int n) { return OBJ_nid2sn(n); }
static inline STACK_OF(X509) *triad_sk_X509_new_null(void) { return sk_X509_new_null(); }
static inline int triad_sk_X509_push(STACK_OF(X509) *s, X509 *x) { return sk_X509_push(s, x); }
static inline void triad_sk_X509_free(STACK_OF(X509) *s) { sk_X509_free(s); }

static inline void triad_OPENSSL_free(void *p) { OPENSSL_free(p); }
static inline const unsigned long triad_XN_FLAG_RFC2253(void) { return XN_FLAG_RFC2253; }
static inline void triad_ERR_clear(void) { ERR_clear_error(); }
static inline int triad_EVP_PKEY_PUBLIC_KEY(void) { return EVP_PKEY_PUBLIC_KEY; }
static inline int triad_EVP_PKEY_KEYPAIR(void) { return EVP_PKEY_KEYPAIR; }

// OSSL_PARAM arrays keep pointers to their key names and buffers; building them here in C
// keeps every pointer alive for the whole call (Swift's string bridging would not).
static inline EVP_PKEY *triad_ec_public_from_point(const char *group, const unsigned char *point, size_t length) {
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (ctx == NULL) return NULL;
    OSSL_PARAM params[3];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)point, length);
    params[2] = OSSL_PARAM_construct_end();
    if (EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

static inline EVP_PKEY *triad_rsa_public_from_components(const unsigned char *n, size_t nlen, const unsigned char *e, size_t elen) {
    EVP_PKEY *pkey = NULL;
    BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL), *be = BN_bin2bn(e, (int)elen, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (bn && be && bld && ctx
        && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) == 1
        && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) == 1
        && (params = OSSL_PARAM_BLD_to_param(bld)) != NULL
        && EVP_PKEY_fromdata_init(ctx) == 1) {
        if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) pkey = NULL;
    }
    OSSL_PARAM_free(params); OSSL_PARAM_BLD_free(bld); EVP_PKEY_CTX_free(ctx); BN_free(bn); BN_free(be);
    return pkey;
}

static inline int triad_set_oaep_label(EVP_PKEY_CTX *ctx, const unsigned char *label, size_t length) {
    void *copy = OPENSSL_memdup(label, length);
    if (copy == NULL) return 0;
    if (EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, copy, (int)length) != 1) { OPENSSL_free(copy); return 0; }
    return 1;
}

// An HMAC-SHA256 context with its digest already set, to be duplicated per message: the
// one-shot HMAC() fetches the MAC and the digest by name on every call (EVP_Q_mac).
static inline EVP_MAC_CTX *triad_hmac_sha256_template(void) {
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (mac == NULL) return NULL;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);   // the context keeps its own reference
    if (ctx == NULL) return NULL;
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (EVP_MAC_CTX_set_params(ctx, params) != 1) { EVP_MAC_CTX_free(ctx); return NULL; }
    return ctx;
}

#endif
