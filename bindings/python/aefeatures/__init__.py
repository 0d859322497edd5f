"""aefeatures: autoencoder features and anomaly scores, through libaefeatures (numpy only).

    from aefeatures import AutoencoderTransformer, AutoencoderDetector
"""
from ._model import NativeModel, blas_info, get_num_threads, set_num_threads, spec_defaults
from ._native import VERSION as __version__
from ._native import AEFBusyError, AEFCorruptModelError, AEFDivergedError, AEFError, AEFIOError, library_path
from .estimators import AutoencoderDetector, AutoencoderTransformer, NotFittedError

__all__ = ["AutoencoderTransformer", "AutoencoderDetector", "NativeModel", "NotFittedError", "AEFError",
           "AEFIOError", "AEFCorruptModelError", "AEFDivergedError", "AEFBusyError", "set_num_threads",
           "get_num_threads", "spec_defaults", "blas_info", "library_path", "__version__"]
