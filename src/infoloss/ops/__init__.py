"""PyTorch kernels behind :mod:`infoloss.nn.functional`: autograd Functions and Triton kernels.

``linear_cross_entropy`` (chunked engine and cross-entropy rule), ``linear_distill`` (KL / JS
rules on the same engine), ``triton_cross_entropy`` (Triton per-row kernel used on CUDA tensors) and
``vocab_parallel`` (cross-entropy over a vocabulary sharded across a process group). Importing
this package imports torch; ``infoloss`` itself does not.
"""
