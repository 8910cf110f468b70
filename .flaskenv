# Read by the `flask` command (python-dotenv): build the app from the factory,
# unpatched, instead of importing wsgi.py, the serving entry point.
FLASK_APP=fitness_app
