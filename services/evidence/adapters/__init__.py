"""Evidence adapters: ORM tables and repository, the S3 object store, EXIF reading
and upload spooling."""
