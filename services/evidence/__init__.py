"""Evidence service: photos, video and documents stored immutably in S3 (MinIO),
content-addressed by SHA-256, with EXIF GPS/time extracted and presigned downloads."""
