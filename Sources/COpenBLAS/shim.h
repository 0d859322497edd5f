// The only C header the engine sees: OpenBLAS's CBLAS interface (Debian: libopenblas-dev), plus
// the one LAPACK routine the command line's PCA uses, which OpenBLAS also exports.
#ifndef AEF_COPENBLAS_SHIM_H
#define AEF_COPENBLAS_SHIM_H
#include <cblas.h>

/* Eigenvalues (ascending) and, with jobz "V", eigenvectors of a symmetric matrix (LAPACK dsyev,
 * Fortran calling convention: everything by pointer, column-major). */
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
            double *work, const int *lwork, int *info);
#endif
