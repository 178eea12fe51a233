"""kb: an open knowledge base of multimodal large language model research, and its toolkit."""

__version__ = "0.1.0"
