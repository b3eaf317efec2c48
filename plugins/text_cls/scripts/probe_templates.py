import json, random, time, torch, re, sys
from transformers import AutoTokenizer, AutoModelForCausalLM
torch.set_num_threads(2); torch.manual_seed(0)
rows=[json.loads(l) for l in open('/work/shared/data/text_cls/rotten_tomatoes.jsonl')]
random.Random(0).shuffle(rows); rows=rows[:40]
tok=AutoTokenizer.from_pretrained('smollm2'); tok.padding_side='left'
m=AutoModelForCausalLM.from_pretrained('smollm2', dtype=torch.bfloat16).eval()
T={
 'a': "Classify the sentiment of this movie review as positive or negative.\n\nReview: {text}\n\nAnswer with one word: positive or negative.",
 'b': "Review: {text}\nIs this movie review positive or negative?",
 'c': "What is the sentiment of the following movie review? Answer with positive or negative.\n\n{text}",
 'd': "Movie review: \"{text}\"\nQuestion: Did the reviewer like the movie? Answer \"positive\" if they liked it and \"negative\" if they did not.\nAnswer:",
}
out=open('probe_out.jsonl','w')
K=8
for name,tpl in T.items():
    t=time.time(); corr=[]; maj=[]; abst=0
    for i in range(0,len(rows),8):
        batch=rows[i:i+8]
        prompts=[tok.apply_chat_template([{"role":"user","content":tpl.format(text=r['text'])}],tokenize=False,add_generation_prompt=True) for r in batch]
        enc=tok(prompts,return_tensors='pt',padding=True)
        with torch.inference_mode():
            g=m.generate(**enc,do_sample=True,temperature=0.8,top_p=1.0,top_k=0,max_new_tokens=24,num_return_sequences=K,pad_token_id=tok.pad_token_id)
        texts=tok.batch_decode(g[:,enc['input_ids'].shape[1]:],skip_special_tokens=True)
        for j,r in enumerate(batch):
            resp=texts[j*K:(j+1)*K]
            ans=[]
            for s in resp:
                f=re.findall(r'\b(positive|negative)\b',s.lower())
                ans.append(f[-1] if f else None)
            abst+=sum(a is None for a in ans)
            corr+= [a==r['label'] for a in ans]
            c={}
            for a in ans:
                if a: c[a]=c.get(a,0)+1
            mj=max(c,key=c.get) if c else None
            maj.append(mj==r['label'])
            out.write(json.dumps({'template':name,'id':r['id'],'gold':r['label'],'responses':resp})+'\n')
    print(name, 'avg',sum(corr)/len(corr),'maj',sum(maj)/len(maj),'abstain',abst/len(corr),'t',round(time.time()-t),flush=True)
