# Step 1: Get presigned upload URL
curl -X POST "https://api.seedance2.movie/api/v1/video/upload/presign?filename=scene.png&content_type=image/png" \
  -H "X-API-Key: <your_api_key>"

# Step 2: Upload file (use presigned_url from step 1)
curl -X PUT "<presigned_url>" \
  -H "Content-Type: image/png" \
  --data-binary @./scene.png

# Step 3: Submit generation task (use file_path from step 1)
curl -X POST "https://api.seedance2.movie/api/v1/video/task" \
  -H "X-API-Key: <your_api_key>" \
  -H "Content-Type: application/json" \
  -d '{
    "content": [
      {"type": "image_url", "image_url": "<file_path>"},
      {"type": "text", "text": "The scene comes alive, flowers blooming"}
    ],
    "duration": 8,
    "ratio": "16:9"
  }'

# Step 4: Query task status (use task_id from step 3)
curl "https://api.seedance2.movie/api/v1/video/task/<task_id>" \
  -H "X-API-Key: <your_api_key>"
