"""Open311 GeoReport v2 at the gateway: response models, conversion from the intake
contract, form and filter validation, and the XML rendering of the same documents."""
