"""The catalog's views, one module per page or group of pages."""
