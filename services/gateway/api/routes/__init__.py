"""One router per area; ``services.gateway.api.main`` assembles them."""
