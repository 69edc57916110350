"""HTTP surface of the gateway: dependencies and one router per area."""
