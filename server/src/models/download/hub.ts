// Where hf: references are downloaded from: the Hugging Face hub, or the endpoint a test or a
// mirror names (MODEL_ENDPOINT and HF_ENDPOINT are the variables node-llama-cpp also reads).

const defaultHub = 'https://huggingface.co/';

export function hubEndpoint(endpoint?: string): string {
  return endpoint || process.env.MODEL_ENDPOINT || process.env.HF_ENDPOINT || defaultHub;
}
