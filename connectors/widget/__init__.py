"""Web chat widget: a socket.io channel for Rasa, the widget and a demo page."""
