"""The web workspace for staff and leaders, and the Open311 GeoReport v2 API: FastAPI on the
bot's event loop and database, calling the same case service and presenters as the chat."""
