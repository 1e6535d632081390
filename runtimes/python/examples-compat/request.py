# Test copy of the original example: reads more of the request than the body.
#   curl -H "Say-Hello-To: John" "http://<host>/<function>?greeting=Hola"  ->  Hola John
# A multipart/form-data body with fields "category" and "upload" (a file) also
# saves the file to <temporary folder>/<category>/<file name>.
import os
import tempfile


def handler(event, context):
    req = event['extensions']['request']

    # Headers, case-insensitive
    name = req.get_header('Say-Hello-To', 'kubeless')

    # URL query parameters
    greeting = req.query.get('greeting', 'Hello')

    # multipart/form-data fields and files
    category = req.forms.get('category')
    upload = req.files.get('upload')
    if category and upload is not None:
        save_path = os.path.join(tempfile.gettempdir(), category)
        os.makedirs(save_path, exist_ok=True)
        upload.save(os.path.join(save_path, upload.filename), overwrite=True)

    return greeting + ' ' + name
