"""Web: the review workbench (FastAPI pages and JSON API); ``simap.web.app.create_app`` builds it."""
