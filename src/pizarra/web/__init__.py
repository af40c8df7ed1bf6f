"""The lab's web shell (FastAPI): ``create_app()`` in ``pizarra.web.app`` builds it.

Nothing is built at import: ``uvicorn --factory pizarra.web.app:create_app`` or ``pizarra serve``.
"""
